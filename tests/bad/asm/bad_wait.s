# expect: 3:70: expected '>=' in sN>=V
# bad wait
tensor_copy dst=sbuf.bf16[p=0:1,n=4] src=sbuf.bf16[p=1:2,n=4] wait s1>1
