# expect: 3:13: DMA cannot reach PSUM
# dma psum
dma @q0 dst=psum.fp32[p=0:1,n=4] src=hbm.fp32[n=4]
