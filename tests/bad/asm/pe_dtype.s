# expect: 3:38: does not multiply int32
# pe dtype
matmul dst=psum.fp32[p=0:4,n=4] stat=sbuf.int32[p=0:4,n=4] mov=sbuf.bf16[p=0:4,off=64,n=4]
