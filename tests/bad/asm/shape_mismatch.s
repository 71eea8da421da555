# expect: 3:17: destination [1 x 4] and source [1 x 8] differ in shape
# shape mismatch
tensor_copy dst=sbuf.bf16[p=0:1,n=4] src=sbuf.bf16[p=1:2,n=8]
