"""pynn's compiled kernels: the one extension module, over the static library ``libpynn``
that setup.py builds from csrc/ (SIMD families once per instruction set).

The wrappers of each kernel family are in ``_<family>.pxi``, included below into this one
module (so every C object is linked once); the declarations they call are in _kernels.pxd
and the array access the small kernels share in _buffers.pxi. compiled.py is the Python
face: nothing else in pynn calls this module but show_config and the benchmarks' CPU probes.
"""
from cython cimport floating
from libc.stdint cimport int64_t
from libc.string cimport memset
from pynn.backend._kernels cimport *

include "_buffers.pxi"
include "_cpu.pxi"
include "_gemm.pxi"
include "_conv.pxi"
include "_pool.pxi"
include "_attention.pxi"
include "_activation.pxi"
include "_softmax.pxi"
include "_elementwise.pxi"
include "_rnn.pxi"
