"""The cases of ``python -m pynn.bench`` under pytest-benchmark, shipped with pynn so that they
run from anywhere pynn is installed (``pip install "pynn[bench]"``)::

    pytest --pyargs pynn.bench.suite --benchmark-only --benchmark-columns=median,iqr

``-k gemm`` (or ``kernels``, ``sequence``, ``training``) picks a family. Every case runs at 1
and 2 threads, pynn and its peers pinned alike (the ``threads`` fixture). Without
``--benchmark-only`` each case also runs once as a plain test.
"""
