# expect: 3:29: empty partition range 4:4
# empty partitions
tensor_copy dst=sbuf.bf16[p=4:4,n=4] src=sbuf.bf16[p=1:2,n=4]
