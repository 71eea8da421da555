# every_opcode.s -- one instruction of every opcode, in canonical-ish text (docs/isa.md).
# Load a 128x128 weight tile and a 128x512 activation tile, multiply, evacuate, activate, store.
dma @q0 dst=sbuf.bf16[p=0:128,n=128] src=hbm.bf16[rows=128,n=128] signal s0 gop=0
dma @q1 dst=sbuf.bf16[p=0:128,off=256,n=512] src=hbm.bf16[rows=128,off=32768,n=512] signal s0 gop=0
matmul dst=psum.fp32[p=0:128,n=512] stat=sbuf.bf16[p=0:128,n=128] mov=sbuf.bf16[p=0:128,off=256,n=512] wait s0>=2 signal s1 gop=0
matmul acc dst=psum.fp32[p=0:128,n=512] stat=sbuf.bf16[p=0:128,n=128] mov=sbuf.bf16[p=0:128,off=256,n=512] signal s1 gop=0
tensor_copy dst=sbuf.fp32[p=0:128,off=2048,n=512] src=psum.fp32[p=0:128,n=512] wait s1>=2 signal s2 gop=0
tensor_tensor alu=add dst=sbuf.fp32[p=0:128,off=4096,n=512] src=sbuf.fp32[p=0:128,off=2048,n=512] src1=sbuf.fp32[p=0:128,off=2048,n=512] gop=1
tensor_scalar alu=mul imm=0.5 dst=sbuf.fp32[p=0:128,off=6144,n=512] src=sbuf.fp32[p=0:128,off=4096,n=512] gop=1
tensor_reduce alu=max dst=sbuf.fp32[p=0:128,off=8192,n=1] src=sbuf.fp32[p=0:128,off=6144,n=512] gop=2
transpose dst=sbuf.fp32[p=0:64,off=8448,n=128] src=sbuf.fp32[p=0:128,off=6144,n=64] signal s3 gop=3
activate func=gelu scale=1.5 bias=-0.25 dst=sbuf.bf16[p=0:128,off=10240,n=512] src=sbuf.fp32[p=0:128,off=2048,n=512] wait s2>=1 signal s4 gop=4
wait @vec s3>=1
signal @vec s5
dma @q2 dst=hbm.bf16[rows=128,off=1048576,n=512] src=sbuf.bf16[p=0:128,off=10240,n=512] wait s4>=1 wait s5>=1 gop=5
dma @q3 dst=sbuf.bf16[p=0:64,off=12288,n=8x16,s=64x2] src=hbm.bf16[rows=64,pstride=4096,n=128] gop=6
