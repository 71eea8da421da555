# expect: 3:17: beyond the 16384 bytes of a psum partition
# psum overflow
tensor_copy dst=psum.fp32[p=0:1,off=16384,n=1] src=sbuf.bf16[p=0:1,n=1]
