# expect: 3:12: crosses a PSUM bank boundary
# psum bank
matmul dst=psum.fp32[p=0:4,off=1024,n=512] stat=sbuf.bf16[p=0:4,n=4] mov=sbuf.bf16[p=0:4,off=64,n=512]
