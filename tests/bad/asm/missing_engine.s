# expect: 3:4: 'dma' needs an engine
# missing engine
dma dst=sbuf.bf16[p=0:1,n=4] src=hbm.bf16[n=4]
