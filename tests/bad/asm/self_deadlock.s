# expect: 3:68: certain deadlock: waits for s0 >= 1 but only 0 signals of s0 can happen before it
# the only signal of s0 comes from the instruction that waits for it
tensor_copy dst=sbuf.bf16[p=0:1,n=4] src=sbuf.bf16[p=1:2,n=4] wait s0>=1 signal s0
