# expect: 2:13: unexpected byte 0x01
tensor_copy 
