"""keystone worker process: one JSON request per line on stdin, one JSON reply per line on stdout.

Run as a script (no ffaemu import) by `ffaemu.toolchain.ks_bounded`, which kills it when an
assembly exceeds its time limit: keystone 0.9.2's parser loops forever on some malformed
input (`a:: nop`, an unterminated string), and a thread stuck in C cannot be stopped.
"""
import json
import sys

MEMORY_LIMIT = 2 << 30      # bytes of address space: `.skip 0x7fffffff` fails here, the caller goes on

from keystone import KS_ARCH_ARM64, KS_MODE_LITTLE_ENDIAN, Ks, KsError


def main() -> None:
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ImportError, ValueError, OSError):
        pass                    # no RLIMIT_AS here: the time limit still applies
    for line in sys.stdin:
        req = json.loads(line)
        try:
            enc, _ = Ks(KS_ARCH_ARM64, KS_MODE_LITTLE_ENDIAN).asm(req["src"], req["base"])
            reply = {"code": bytes(enc or b"").hex()}
        except KsError as e:
            reply = {"errno": e.errno, "msg": str(e)}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
