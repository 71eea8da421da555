# expect: 3:17: partitions 120..135 are outside the 128 partitions of sbuf
# sbuf partitions
tensor_copy dst=sbuf.bf16[p=120:136,n=1] src=sbuf.bf16[p=0:16,n=1]
