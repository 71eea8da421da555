# expect: 3:72: moving N=1024 exceeds the limit of 512
# moving too wide
matmul dst=psum.fp32[p=0:128,n=1024] stat=sbuf.bf16[p=0:128,n=128] mov=sbuf.bf16[p=0:128,off=512,n=1024]
