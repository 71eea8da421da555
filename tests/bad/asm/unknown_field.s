# expect: 3:37: unknown access-pattern field 'q'
# unknown field
tensor_copy dst=sbuf.bf16[p=0:1,n=4,q=3] src=sbuf.bf16[p=1:2,n=4]
