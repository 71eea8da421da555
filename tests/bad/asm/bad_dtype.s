# expect: 3:18: unknown dtype 'bf61' (did you mean 'bf16'?)
# bad dtype
dma @q0 dst=sbuf.bf61[p=0:1,n=4] src=hbm.bf16[n=4]
