# expect: 3:68: certain deadlock: waits for s3 >= 1 but only 0 signals
# the signal is queued behind the wait on the same engine (vec runs in order)
tensor_copy dst=sbuf.bf16[p=0:1,n=4] src=sbuf.bf16[p=1:2,n=4] wait s3>=1
tensor_copy dst=sbuf.bf16[p=0:1,n=4] src=sbuf.bf16[p=1:2,n=4] signal s3
