# expect: 3:1: unknown instruction 'matmull' (did you mean 'matmul'?)
# unknown opcode
matmull dst=psum.fp32[p=0:1,n=4]
