# expect: 3:42: cannot address HBM
# hbm on vector
tensor_copy dst=sbuf.bf16[p=0:1,n=4] src=hbm.bf16[n=4]
