/* The binding's floor for a trap answered in Python, with C doing the register traffic:
 * a UC_HOOK_INTR hook reads x0-x17 into shared memory, calls the Python callback, and
 * writes x0-x7 back from shared memory. Built by bench/floor.py with gcc. */
#include <stdint.h>

typedef int (*reg_rw_fn)(void *uc, int regid, void *value);
typedef void (*py_cb)(void);

struct floor_ctx {
    reg_rw_fn reg_read, reg_write;
    py_cb callback;
    int r_x[18];
    uint64_t in[18];
    uint64_t out[8];
};

void floor_intr(void *uc, uint32_t intno, void *user)
{
    struct floor_ctx *c = user;
    (void)intno;
    for (int i = 0; i < 18; i++)
        c->reg_read(uc, c->r_x[i], &c->in[i]);
    c->callback();
    for (int i = 0; i < 8; i++)
        c->reg_write(uc, c->r_x[i], &c->out[i]);
}
