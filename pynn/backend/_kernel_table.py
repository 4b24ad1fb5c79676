"""The kernel table: every kernel of both backends, described once, as data.

``KERNELS`` (in ``pynn.backend``) is the names of these rows. A row whose ``args`` are given
is a small kernel of a descriptor family (``pynn_<family>_kernels(isa)-><stem>_f32/_f64``,
see CONTRIBUTING): from it the build (``_codegen.py``, run by setup.py) writes its
declaration into ``_kernels.pxd`` and its Cython wrapper into ``_table.pxi``, and
``compiled.py`` makes its compiled function, with the reference's signature and docstring.
A row with ``decl`` only is declared from the table but wrapped by hand (its wrapper does more
than the table says: labels, a bad-row result, an axis); a row with neither is a long kernel
whose geometry structs keep a hand-written declaration and wrapper (convolution, pooling,
attention) or that is not a descriptor family's (GEMM).

``args`` lists the C arguments in order, before the final ``int n_threads``:

* ``n``: an ``int64_t`` size, read from the shape of an array that names it;
* ``in x[SHAPE]``: an input array (a form the kernel cannot read is copied once);
  ``inout x[SHAPE]``: an array updated in place (C-contiguous, writeable, never copied);
  ``out x[SHAPE]``: a new array the wrapper allocates and returns (in order, a tuple if
  several). ``in?`` / ``inout?`` may be None (NULL to C); ``... if COND`` passes it only
  when the Cython expression COND holds, and then it is required;
* ``double x`` / ``int x``: a scalar; ``hyper h``: a pointer to the row's ``hyper`` struct,
  whose fields (``"double lr, bint nesterov, ..."``) the wrapper takes as arguments.

SHAPE is ``*n`` (any shape of n elements), ``*rows, cols`` (at least 1-D, cols the last
axis) or ``n, 4*h`` (2-D, sizes as multiples). The first array fixes the dtype and binds the
sizes; every later array must match them (and a ``*`` one must have the first's shape).

The wrapper's arguments are the arrays and scalars in C order, then the hyper fields, then
``isa`` and ``n_threads``; compiled.py passes the reference's parameters of those names
(``convert`` maps a name to a Python expression over the reference's parameters, ``check``
being ``_checks`` and ``kernel`` the row's name). When the wrapper refuses its arguments,
``refused`` (Python statements) runs the reference's checks to raise the error.
"""

from collections import namedtuple

Kernel = namedtuple("Kernel", "name family stem args hyper convert refused decl",
                    defaults=(None, None, None, None, None, None, None))


def _unary(name, stem, param=""):
    scalar = f", double {param}" if param else ""
    return Kernel(name, "activation", stem, f"n, in x[*n]{scalar}, out y[*n]",
                  refused="check.float_arrays(kernel, x=x)")


def _unary_grad(name, stem, source, param=""):
    scalar = f", double {param}" if param else ""
    return Kernel(name, "activation", stem,
                  f"n, in {source}[*n], in dy[*n]{scalar}, out dx[*n]",
                  refused=f"check.same_float_shapes(kernel, {source}={source}, dy=dy)")


def _rows(name, stem, *inputs):
    ins = "".join(f"in {a}[*rows, cols], " for a in inputs)
    out = "y" if len(inputs) == 1 else "dx"
    listed = ", ".join(f"{a}={a}" for a in inputs)
    return Kernel(name, "softmax", stem, f"rows, cols, {ins}out {out}[*rows, cols]",
                  refused=f"check.rows(kernel, {listed})")


TABLE = (
    Kernel("gemm", "gemm"),
    Kernel("im2col", "im2col"),
    Kernel("col2im", "im2col"),
    Kernel("conv2d_forward", "conv"),
    Kernel("conv2d_backward", "conv"),
    Kernel("conv2d_maxpool_forward", "conv"),
    Kernel("conv2d_maxpool_backward", "conv"),
    Kernel("max_pool2d_forward", "pool"),
    Kernel("max_pool2d_backward", "pool"),
    Kernel("avg_pool2d_forward", "pool"),
    Kernel("avg_pool2d_backward", "pool"),
    _rows("softmax_forward", "softmax_fwd", "x"),
    _rows("softmax_backward", "softmax_bwd", "y", "dy"),
    _rows("log_softmax_forward", "log_softmax_fwd", "x"),
    _rows("log_softmax_backward", "log_softmax_bwd", "y", "dy"),
    Kernel("softmax_cross_entropy_forward", "softmax", "softmax_xent_fwd", decl=(
        "int64_t (int64_t rows, int64_t cols, const real *logits, const int64_t *labels, "
        "int64_t ignore_index, double eps, real *probs, double *loss_rows, double *loss_sum, "
        "int64_t *n_valid)")),
    Kernel("softmax_cross_entropy_backward", "softmax", "softmax_xent_bwd", decl=(
        "int64_t (int64_t rows, int64_t cols, const real *probs, const int64_t *labels, "
        "int64_t ignore_index, double eps, double grad, int mean, const real *grad_rows, "
        "real *dlogits)")),
    Kernel("layer_norm_forward", "norm", "layer_norm_fwd", decl=(
        "void (int64_t rows, int64_t cols, const real *x, const real *weight, "
        "const real *bias, double eps, real *y, real *mean, real *rstd)")),
    Kernel("layer_norm_backward", "norm", "layer_norm_bwd", decl=(
        "int (int64_t rows, int64_t cols, const real *x, const real *dy, const real *mean, "
        "const real *rstd, const real *weight, real *dx, real *dweight, real *dbias)")),
    Kernel("batch_norm_forward", "norm", "batch_norm_fwd", decl=(
        "void (int64_t n, int64_t c, int64_t s, const real *x, const real *weight, "
        "const real *bias, double eps, real *y, real *mean, real *var, real *rstd)")),
    Kernel("batch_norm_backward", "norm", "batch_norm_bwd", decl=(
        "void (int64_t n, int64_t c, int64_t s, const real *x, const real *dy, "
        "const real *mean, const real *rstd, const real *weight, real *dx, real *dweight, "
        "real *dbias)")),
    _unary("relu_forward", "relu_fwd"),
    _unary_grad("relu_backward", "relu_bwd", "y"),
    _unary("leaky_relu_forward", "leaky_relu_fwd", "negative_slope"),
    _unary_grad("leaky_relu_backward", "leaky_relu_bwd", "x", "negative_slope"),
    _unary("sigmoid_forward", "sigmoid_fwd"),
    _unary_grad("sigmoid_backward", "sigmoid_bwd", "y"),
    _unary("tanh_forward", "tanh_fwd"),
    _unary_grad("tanh_backward", "tanh_bwd", "y"),
    Kernel("gelu_forward", "activation", "gelu_fwd", "n, in x[*n], int approx_tanh, out y[*n]",
           convert={"approx_tanh": "check.gelu_approximate(kernel, approximate) == 'tanh'"},
           refused="check.float_arrays(kernel, x=x)"),
    Kernel("gelu_backward", "activation", "gelu_bwd",
           "n, in x[*n], in dy[*n], int approx_tanh, out dx[*n]",
           convert={"approx_tanh": "check.gelu_approximate(kernel, approximate) == 'tanh'"},
           refused="check.same_float_shapes(kernel, x=x, dy=dy)"),
    Kernel("lstm_cell_forward", "rnn", "lstm_cell_fwd",
           "n, h, in gates[n, 4*h], in c_prev[n, h], out h_out[n, h], out c_out[n, h], "
           "out acts[n, 5*h]",
           refused='check.recurrent_cell(kernel, {"gates": gates}, 4, c_prev=c_prev)'),
    Kernel("lstm_cell_backward", "rnn", "lstm_cell_bwd",
           "n, h, in acts[n, 5*h], in c_prev[n, h], in dh[n, h], in? dc[n, h], "
           "out dgates[n, 4*h], out dc_prev[n, h]",
           refused='check.recurrent_cell(kernel, {"acts": acts}, 5, c_prev=c_prev, dh=dh, '
                   'dc=dc)'),
    Kernel("gru_cell_forward", "rnn", "gru_cell_fwd",
           "n, h, in gi[n, 3*h], in gh[n, 3*h], in h_prev[n, h], out h_out[n, h], "
           "out acts[n, 4*h]",
           refused='check.recurrent_cell(kernel, {"gi": gi, "gh": gh}, 3, h_prev=h_prev)'),
    Kernel("gru_cell_backward", "rnn", "gru_cell_bwd",
           "n, h, in acts[n, 4*h], in h_prev[n, h], in dh[n, h], out dgi[n, 3*h], "
           "out dgh[n, 3*h], out dh_prev[n, h]",
           refused='check.recurrent_cell(kernel, {"acts": acts}, 4, h_prev=h_prev, dh=dh)'),
    Kernel("lstm_sequence_forward", "rnn_seq"),
    Kernel("lstm_sequence_backward", "rnn_seq"),
    Kernel("gru_sequence_forward", "rnn_seq"),
    Kernel("gru_sequence_backward", "rnn_seq"),
    Kernel("rnn_sequence_forward", "rnn_seq"),
    Kernel("rnn_sequence_backward", "rnn_seq"),
    Kernel("attention_forward", "attention"),
    Kernel("attention_backward", "attention"),
    Kernel("bias_grad", "elementwise", "bias_grad", decl=(
        "void (int64_t outer, int64_t channels, int64_t inner, const real *dy, real *db)")),
    Kernel("sgd_step", "elementwise", "sgd_step",
           "n, inout param[*n], in grad[*n], inout? momentum_buffer[*n] if momentum != 0, "
           "hyper h",
           hyper=("pynn_sgd_hyper", ("double lr, double momentum, double dampening, "
                                     "double weight_decay, bint nesterov, bint maximize, "
                                     "bint first_step")),
           refused="check.sgd_args(kernel, param, grad, momentum_buffer, momentum)"),
    Kernel("adam_step", "elementwise", "adam_step",
           "n, inout param[*n], in grad[*n], inout exp_avg[*n], inout exp_avg_sq[*n], "
           "inout? max_exp_avg_sq[*n], hyper h",
           hyper=("pynn_adam_hyper", ("double lr, double beta1, double beta2, double eps, "
                                      "double weight_decay, int64_t step, "
                                      "bint decoupled_weight_decay, bint maximize")),
           convert={"step": "check.integer(kernel, 'step', step, minimum=1)"},
           refused="check.step_args(kernel, param, grad, exp_avg=exp_avg, "
                   "exp_avg_sq=exp_avg_sq, max_exp_avg_sq=max_exp_avg_sq)"),
    Kernel("rmsprop_step", "elementwise", "rmsprop_step",
           "n, inout param[*n], in grad[*n], inout square_avg[*n], "
           "inout? momentum_buffer[*n] if momentum != 0, inout? grad_avg[*n] if centered, "
           "hyper h",
           hyper=("pynn_rmsprop_hyper", ("double lr, double alpha, double eps, "
                                         "double weight_decay, double momentum, bint centered, "
                                         "bint maximize")),
           refused="check.rmsprop_args(kernel, param, grad, square_avg, momentum_buffer, "
                   "grad_avg, momentum, centered)"),
)
