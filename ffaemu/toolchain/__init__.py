"""Toolchains for guest images: keystone (in process, bounded) and LLVM from the `ziglang` package.

- `zig`       locates the `ziglang` package's clang (integrated assembler) and lld;
- `ks_bounded` runs keystone in a worker process under a time limit (its parser can loop forever);
- `llvm_as`   assembles the front end's output with clang and links it at the image base with lld;
- `cache`     keeps assembled objects by content hash in a per-user cache directory;
- `cguest`    compiles C guests freestanding at the guest base.
"""
