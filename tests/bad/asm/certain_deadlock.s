# expect: 4:68: certain deadlock: waits for s0 >= 2 but only 1 signal of s0 can happen before it
tensor_copy dst=sbuf.bf16[p=0:1,n=4] src=sbuf.bf16[p=1:2,n=4] signal s0   # one signal of s0 in the whole program
# ... but the copy below waits for two
tensor_copy dst=sbuf.bf16[p=0:1,n=4] src=sbuf.bf16[p=1:2,n=4] wait s0>=2
