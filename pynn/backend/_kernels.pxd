# The C kernels as Cython sees them. Every declaration is `noexcept nogil`: the C code never
# raises, so Cython must not take the GIL back to check for exceptions.
from libc.stdint cimport int64_t

cdef extern from "pynn_common.h":
    enum:
        PYNN_OK
        PYNN_ERR_NOMEM
        PYNN_ERR_ARG

cdef extern from "cpu.h":
    int pynn_cpu_isa_supported(int isa) noexcept nogil
    int pynn_cpu_best_isa() noexcept nogil
    int pynn_openmp_enabled() noexcept nogil
    ctypedef struct pynn_cache_level:
        int64_t size
        int ways, line, sharing
    ctypedef struct pynn_cache_info:
        pynn_cache_level l1d, l2, l3
        const char *source
    const pynn_cache_info *pynn_cpu_caches() noexcept nogil
    int pynn_cpu_caches_from(const char *source, pynn_cache_info *out) noexcept nogil

cdef extern from "gemm.h":
    int pynn_gemm_f32(int64_t m, int64_t n, int64_t k, float alpha,
                      const float *a, int64_t rsa, int64_t csa,
                      const float *b, int64_t rsb, int64_t csb,
                      float beta, float *c, int64_t rsc, int64_t csc,
                      const float *bias, int bias_axis, int relu, int isa,
                      int n_threads) noexcept nogil
    int pynn_gemm_f64(int64_t m, int64_t n, int64_t k, double alpha,
                      const double *a, int64_t rsa, int64_t csa,
                      const double *b, int64_t rsb, int64_t csb,
                      double beta, double *c, int64_t rsc, int64_t csc,
                      const double *bias, int bias_axis, int relu, int isa,
                      int n_threads) noexcept nogil
    int64_t pynn_fma_probe_f32(int isa, int64_t rounds, float *sink) noexcept nogil
    int pynn_gemm_blocking_of(int isa, int f64, int64_t out[5]) noexcept nogil
    void pynn_gemm_blocking_model(int isa, int f64, const pynn_cache_info *caches,
                                  int64_t out[5]) noexcept nogil

cdef extern from "im2col.h":
    ctypedef struct pynn_conv_geom:
        int64_t c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow
    void pynn_im2col_batch_f32(const pynn_conv_geom *g, int64_t n, const float *x,
                               float *cols, int n_threads) noexcept nogil
    void pynn_im2col_batch_f64(const pynn_conv_geom *g, int64_t n, const double *x,
                               double *cols, int n_threads) noexcept nogil
    void pynn_col2im_batch_f32(const pynn_conv_geom *g, int64_t n, const float *cols,
                               float *x, int n_threads) noexcept nogil
    void pynn_col2im_batch_f64(const pynn_conv_geom *g, int64_t n, const double *cols,
                               double *x, int n_threads) noexcept nogil

cdef extern from "pool.h":
    ctypedef struct pynn_pool_geom:
        int64_t planes, h, w, kh, kw, sh, sw, ph, pw, oh, ow
    void pynn_maxpool2d_fwd_f32(const pynn_pool_geom *g, const float *x, float *y,
                                int64_t *idx, int n_threads) noexcept nogil
    void pynn_maxpool2d_fwd_f64(const pynn_pool_geom *g, const double *x, double *y,
                                int64_t *idx, int n_threads) noexcept nogil
    int pynn_maxpool2d_bwd_f32(const pynn_pool_geom *g, const float *dy, const int64_t *idx,
                               float *dx, int n_threads) noexcept nogil
    int pynn_maxpool2d_bwd_f64(const pynn_pool_geom *g, const double *dy, const int64_t *idx,
                               double *dx, int n_threads) noexcept nogil
    void pynn_avgpool2d_fwd_f32(const pynn_pool_geom *g, const float *x, int count_include_pad,
                                float *y, int n_threads) noexcept nogil
    void pynn_avgpool2d_fwd_f64(const pynn_pool_geom *g, const double *x,
                                int count_include_pad, double *y, int n_threads) noexcept nogil
    void pynn_avgpool2d_bwd_f32(const pynn_pool_geom *g, const float *dy,
                                int count_include_pad, float *dx, int n_threads) noexcept nogil
    void pynn_avgpool2d_bwd_f64(const pynn_pool_geom *g, const double *dy,
                                int count_include_pad, double *dx,
                                int n_threads) noexcept nogil

cdef extern from "conv.h":
    int pynn_conv2d_fwd_f32(const pynn_conv_geom *g, int64_t n, int64_t o, const float *x,
                            const float *w, const float *b, int relu,
                            const pynn_pool_geom *pool, float *y, int64_t *idx, int isa,
                            int n_threads) noexcept nogil
    int pynn_conv2d_fwd_f64(const pynn_conv_geom *g, int64_t n, int64_t o, const double *x,
                            const double *w, const double *b, int relu,
                            const pynn_pool_geom *pool, double *y, int64_t *idx, int isa,
                            int n_threads) noexcept nogil
    int pynn_conv2d_bwd_f32(const pynn_conv_geom *g, int64_t n, int64_t o, const float *x,
                            const float *w, const pynn_pool_geom *pool, const float *dy,
                            const float *relu_y, const int64_t *idx, float *dx, float *dw,
                            float *db, int isa, int n_threads) noexcept nogil
    int pynn_conv2d_bwd_f64(const pynn_conv_geom *g, int64_t n, int64_t o, const double *x,
                            const double *w, const pynn_pool_geom *pool, const double *dy,
                            const double *relu_y, const int64_t *idx, double *dx, double *dw,
                            double *db, int isa, int n_threads) noexcept nogil

cdef extern from "softmax.h":
    ctypedef struct pynn_softmax_desc:
        void (*softmax_fwd_f32)(int64_t rows, int64_t cols, const float *x, float *y,
                                int n_threads) noexcept nogil
        void (*softmax_fwd_f64)(int64_t rows, int64_t cols, const double *x, double *y,
                                int n_threads) noexcept nogil
        void (*softmax_bwd_f32)(int64_t rows, int64_t cols, const float *y, const float *dy,
                                float *dx, int n_threads) noexcept nogil
        void (*softmax_bwd_f64)(int64_t rows, int64_t cols, const double *y, const double *dy,
                                double *dx, int n_threads) noexcept nogil
        void (*log_softmax_fwd_f32)(int64_t rows, int64_t cols, const float *x, float *y,
                                    int n_threads) noexcept nogil
        void (*log_softmax_fwd_f64)(int64_t rows, int64_t cols, const double *x, double *y,
                                    int n_threads) noexcept nogil
        void (*log_softmax_bwd_f32)(int64_t rows, int64_t cols, const float *y, const float *dy,
                                    float *dx, int n_threads) noexcept nogil
        void (*log_softmax_bwd_f64)(int64_t rows, int64_t cols, const double *y, const double *dy,
                                    double *dx, int n_threads) noexcept nogil
        int64_t (*softmax_xent_fwd_f32)(int64_t rows, int64_t cols, const float *logits,
                                        const int64_t *labels, int64_t ignore_index, double eps,
                                        float *probs, double *loss_rows, double *loss_sum,
                                        int64_t *n_valid, int n_threads) noexcept nogil
        int64_t (*softmax_xent_fwd_f64)(int64_t rows, int64_t cols, const double *logits,
                                        const int64_t *labels, int64_t ignore_index, double eps,
                                        double *probs, double *loss_rows, double *loss_sum,
                                        int64_t *n_valid, int n_threads) noexcept nogil
        int64_t (*softmax_xent_bwd_f32)(int64_t rows, int64_t cols, const float *probs,
                                        const int64_t *labels, int64_t ignore_index, double eps,
                                        double grad, int mean, const float *grad_rows,
                                        float *dlogits, int n_threads) noexcept nogil
        int64_t (*softmax_xent_bwd_f64)(int64_t rows, int64_t cols, const double *probs,
                                        const int64_t *labels, int64_t ignore_index, double eps,
                                        double grad, int mean, const double *grad_rows,
                                        double *dlogits, int n_threads) noexcept nogil
    const pynn_softmax_desc *pynn_softmax_kernels(int isa) noexcept nogil

cdef extern from "activation.h":
    ctypedef struct pynn_activation_desc:
        void (*relu_fwd_f32)(int64_t n, const float *x, float *y, int n_threads) noexcept nogil
        void (*relu_fwd_f64)(int64_t n, const double *x, double *y, int n_threads) noexcept nogil
        void (*relu_bwd_f32)(int64_t n, const float *y, const float *dy, float *dx,
                             int n_threads) noexcept nogil
        void (*relu_bwd_f64)(int64_t n, const double *y, const double *dy, double *dx,
                             int n_threads) noexcept nogil
        void (*leaky_relu_fwd_f32)(int64_t n, const float *x, double slope, float *y,
                                   int n_threads) noexcept nogil
        void (*leaky_relu_fwd_f64)(int64_t n, const double *x, double slope, double *y,
                                   int n_threads) noexcept nogil
        void (*leaky_relu_bwd_f32)(int64_t n, const float *x, const float *dy, double slope,
                                   float *dx, int n_threads) noexcept nogil
        void (*leaky_relu_bwd_f64)(int64_t n, const double *x, const double *dy, double slope,
                                   double *dx, int n_threads) noexcept nogil
        void (*sigmoid_fwd_f32)(int64_t n, const float *x, float *y, int n_threads) noexcept nogil
        void (*sigmoid_fwd_f64)(int64_t n, const double *x, double *y,
                                int n_threads) noexcept nogil
        void (*sigmoid_bwd_f32)(int64_t n, const float *y, const float *dy, float *dx,
                                int n_threads) noexcept nogil
        void (*sigmoid_bwd_f64)(int64_t n, const double *y, const double *dy, double *dx,
                                int n_threads) noexcept nogil
        void (*tanh_fwd_f32)(int64_t n, const float *x, float *y, int n_threads) noexcept nogil
        void (*tanh_fwd_f64)(int64_t n, const double *x, double *y, int n_threads) noexcept nogil
        void (*tanh_bwd_f32)(int64_t n, const float *y, const float *dy, float *dx,
                             int n_threads) noexcept nogil
        void (*tanh_bwd_f64)(int64_t n, const double *y, const double *dy, double *dx,
                             int n_threads) noexcept nogil
        void (*gelu_fwd_f32)(int64_t n, const float *x, int approx_tanh, float *y,
                             int n_threads) noexcept nogil
        void (*gelu_fwd_f64)(int64_t n, const double *x, int approx_tanh, double *y,
                             int n_threads) noexcept nogil
        void (*gelu_bwd_f32)(int64_t n, const float *x, const float *dy, int approx_tanh,
                             float *dx, int n_threads) noexcept nogil
        void (*gelu_bwd_f64)(int64_t n, const double *x, const double *dy, int approx_tanh,
                             double *dx, int n_threads) noexcept nogil
    const pynn_activation_desc *pynn_activation_kernels(int isa) noexcept nogil

cdef extern from "elementwise.h":
    ctypedef struct pynn_sgd_hyper:
        double lr, momentum, dampening, weight_decay
        int nesterov, maximize, first_step
    ctypedef struct pynn_adam_hyper:
        double lr, beta1, beta2, eps, weight_decay
        int64_t step
        int decoupled_weight_decay, maximize
    ctypedef struct pynn_rmsprop_hyper:
        double lr, alpha, eps, weight_decay, momentum
        int centered, maximize
    ctypedef struct pynn_elementwise_desc:
        void (*bias_grad_f32)(int64_t outer, int64_t channels, int64_t inner, const float *dy,
                              float *db, int n_threads) noexcept nogil
        void (*bias_grad_f64)(int64_t outer, int64_t channels, int64_t inner, const double *dy,
                              double *db, int n_threads) noexcept nogil
        void (*sgd_step_f32)(int64_t n, float *param, const float *grad, float *buf,
                             const pynn_sgd_hyper *h, int n_threads) noexcept nogil
        void (*sgd_step_f64)(int64_t n, double *param, const double *grad, double *buf,
                             const pynn_sgd_hyper *h, int n_threads) noexcept nogil
        void (*adam_step_f32)(int64_t n, float *param, const float *grad, float *avg,
                              float *avg_sq, float *max_sq, const pynn_adam_hyper *h,
                              int n_threads) noexcept nogil
        void (*adam_step_f64)(int64_t n, double *param, const double *grad, double *avg,
                              double *avg_sq, double *max_sq, const pynn_adam_hyper *h,
                              int n_threads) noexcept nogil
        void (*rmsprop_step_f32)(int64_t n, float *param, const float *grad, float *square_avg,
                                 float *buf, float *grad_avg, const pynn_rmsprop_hyper *h,
                                 int n_threads) noexcept nogil
        void (*rmsprop_step_f64)(int64_t n, double *param, const double *grad, double *square_avg,
                                 double *buf, double *grad_avg, const pynn_rmsprop_hyper *h,
                                 int n_threads) noexcept nogil
    const pynn_elementwise_desc *pynn_elementwise_kernels(int isa) noexcept nogil

cdef extern from "rnn.h":
    ctypedef struct pynn_rnn_desc:
        void (*lstm_cell_fwd_f32)(int64_t n, int64_t h, const float *gates, const float *c_prev,
                                  float *h_out, float *c_out, float *acts,
                                  int n_threads) noexcept nogil
        void (*lstm_cell_fwd_f64)(int64_t n, int64_t h, const double *gates, const double *c_prev,
                                  double *h_out, double *c_out, double *acts,
                                  int n_threads) noexcept nogil
        void (*lstm_cell_bwd_f32)(int64_t n, int64_t h, const float *acts, const float *c_prev,
                                  const float *dh, const float *dc, float *dgates, float *dc_prev,
                                  int n_threads) noexcept nogil
        void (*lstm_cell_bwd_f64)(int64_t n, int64_t h, const double *acts, const double *c_prev,
                                  const double *dh, const double *dc, double *dgates,
                                  double *dc_prev, int n_threads) noexcept nogil
        void (*gru_cell_fwd_f32)(int64_t n, int64_t h, const float *gi, const float *gh,
                                 const float *h_prev, float *h_out, float *acts,
                                 int n_threads) noexcept nogil
        void (*gru_cell_fwd_f64)(int64_t n, int64_t h, const double *gi, const double *gh,
                                 const double *h_prev, double *h_out, double *acts,
                                 int n_threads) noexcept nogil
        void (*gru_cell_bwd_f32)(int64_t n, int64_t h, const float *acts, const float *h_prev,
                                 const float *dh, float *dgi, float *dgh, float *dh_prev,
                                 int n_threads) noexcept nogil
        void (*gru_cell_bwd_f64)(int64_t n, int64_t h, const double *acts, const double *h_prev,
                                 const double *dh, double *dgi, double *dgh, double *dh_prev,
                                 int n_threads) noexcept nogil
    const pynn_rnn_desc *pynn_rnn_kernels(int isa) noexcept nogil

cdef extern from "attention.h":
    ctypedef struct pynn_bcast3_f32:
        const float *data
        int64_t sb, sl, ss
    ctypedef struct pynn_bcast3_f64:
        const double *data
        int64_t sb, sl, ss
    int pynn_attention_fwd_f32(int64_t b, int64_t l, int64_t s, int64_t e, int64_t ev,
                               const float *q, const float *k, const float *v,
                               pynn_bcast3_f32 mask, int causal, double scale,
                               pynn_bcast3_f32 dropout, float *out, float *probs, int isa,
                               int n_threads) noexcept nogil
    int pynn_attention_fwd_f64(int64_t b, int64_t l, int64_t s, int64_t e, int64_t ev,
                               const double *q, const double *k, const double *v,
                               pynn_bcast3_f64 mask, int causal, double scale,
                               pynn_bcast3_f64 dropout, double *out, double *probs, int isa,
                               int n_threads) noexcept nogil
    int pynn_attention_bwd_f32(int64_t b, int64_t l, int64_t s, int64_t e, int64_t ev,
                               const float *q, const float *k, const float *v,
                               const float *probs, const float *dout, double scale,
                               pynn_bcast3_f32 dropout, float *dq, float *dk, float *dv,
                               int isa, int n_threads) noexcept nogil
    int pynn_attention_bwd_f64(int64_t b, int64_t l, int64_t s, int64_t e, int64_t ev,
                               const double *q, const double *k, const double *v,
                               const double *probs, const double *dout, double scale,
                               pynn_bcast3_f64 dropout, double *dq, double *dk, double *dv,
                               int isa, int n_threads) noexcept nogil
