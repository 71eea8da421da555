# expect: 3:5: DMA queue 16 does not exist
# dma queue
dma @q16 dst=sbuf.bf16[p=0:1,n=4] src=hbm.bf16[n=4]
