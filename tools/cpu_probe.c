/* cpu_probe - can this CPU run the vector code of this build? The probe of rvv_kernels.h
 * (kernels_cpu_ok), the same one every vector build of llm runs at startup. Used by
 * tools/riscv_native.sh to choose the native build on a RISC-V board.
 *   exit 0: prints the kernel variant (e.g. "rvv1.0 VLEN=256", "xtheadvector VLEN=128")
 *   exit 1: prints why not */
#include "rvv_kernels.h"
#include <stdio.h>

int main(void) {
    const char *why;
    if (!kernels_cpu_ok(&why)) {
        printf("%s\n", why);
        return 1;
    }
    printf("%s\n", kernels_variant());
    return 0;
}
