# expect: 3:90: at most two waits
# wait twice too many
tensor_copy dst=sbuf.bf16[p=0:1,n=4] src=sbuf.bf16[p=1:2,n=4] wait s0>=1 wait s1>=1 wait s2>=1
