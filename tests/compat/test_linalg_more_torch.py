"""linalg functions added for PyTorch scripts (solve_triangular, solve(left=False), lstsq and
its drivers, matrix_exp, cond, tensorinv, tensorsolve, vander, the *_ex forms, eig/eigvals,
LinAlgError) against torch.linalg: values, dtypes, gradients and failures."""

import numpy as np
import pytest

import pynn
import pynn.linalg as L

torch = pytest.importorskip("torch")
TL = torch.linalg
P, T = pynn.tensor, torch.tensor
RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 4, 4)) + 4 * np.eye(4)
B = RNG.standard_normal((3, 4, 2))
B_RIGHT = RNG.standard_normal((3, 2, 4))


def _same(ours, theirs, tol=1e-9):
    if isinstance(theirs, (tuple, list)):
        for a, b in zip(ours, theirs):
            _same(a, b, tol)
        return
    a, b = ours.detach().numpy(), theirs.detach().numpy()
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def _grads(ours, theirs, arrays, tol=1e-7):
    ps = [P(a, requires_grad=True) for a in arrays]
    ts = [T(a, requires_grad=True) for a in arrays]
    yo, yt = ours(*ps), theirs(*ts)
    _same(yo, yt, tol)
    g = RNG.standard_normal(tuple(yt.shape))
    yo.backward(P(g))
    yt.backward(T(g))
    for p, t in zip(ps, ts):
        _same(p.grad, t.grad, tol)


@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("unit", [True, False])
def test_solve_triangular_matches_torch(upper, unit):
    _grads(lambda a, b: L.solve_triangular(a, b, upper=upper, unitriangular=unit),
           lambda a, b: TL.solve_triangular(a, b, upper=upper, unitriangular=unit), [A, B])
    _grads(lambda a, b: L.solve_triangular(a, b, upper=upper, left=False, unitriangular=unit),
           lambda a, b: TL.solve_triangular(a, b, upper=upper, left=False,
                                            unitriangular=unit), [A, B_RIGHT])


def test_solve_on_the_right_matches_torch():
    _grads(lambda a, b: L.solve(a, b, left=False), lambda a, b: TL.solve(a, b, left=False),
           [A, B_RIGHT])
    with pytest.raises(RuntimeError, match="XA = B"):
        L.solve(P(A[0]), P(B_RIGHT[0, 0]), left=False)


@pytest.mark.parametrize("driver", [None, "gels", "gelsy", "gelsd", "gelss"])
def test_lstsq_matches_torch_for_each_driver(driver):
    tall, rhs = RNG.standard_normal((2, 6, 3)), RNG.standard_normal((2, 6, 2))
    _same(L.lstsq(P(tall), P(rhs), driver=driver), TL.lstsq(T(tall), T(rhs), driver=driver))
    _grads(lambda a, b: L.lstsq(a, b, driver=driver).solution,
           lambda a, b: TL.lstsq(a, b, driver=driver).solution, [tall, rhs])


def test_lstsq_wide_gives_the_least_norm_solution():
    wide, rhs = RNG.standard_normal((3, 5)), RNG.standard_normal((3, 2))
    _same(L.lstsq(P(wide), P(rhs)).solution, TL.lstsq(T(wide), T(rhs), driver="gelsd").solution)
    _grads(lambda a, b: L.lstsq(a, b).solution,
           lambda a, b: TL.lstsq(a, b, driver="gelsd").solution, [wide, rhs])
    with pytest.raises(RuntimeError, match="driver"):
        L.lstsq(P(wide), P(rhs), driver="qr")


@pytest.mark.parametrize("scale", [0.1, 1.0, 5.0, 30.0])
def test_matrix_exp_matches_torch(scale):
    m = RNG.standard_normal((2, 5, 5)) * scale / 5
    _grads(L.matrix_exp, TL.matrix_exp, [m], tol=1e-8 * max(1.0, np.exp(scale)))
    _same(L.matrix_exp(P(m.astype(np.float32))), TL.matrix_exp(T(m.astype(np.float32))),
          tol=1e-4 * max(1.0, np.exp(scale)))


@pytest.mark.parametrize("p", [None, 2, -2, "fro", "nuc", np.inf, -np.inf, 1, -1])
def test_cond_matches_torch(p):
    _same(L.cond(P(A), p), TL.cond(T(A), p))


def test_tensorinv_tensorsolve_and_vander_match_torch():
    a = RNG.standard_normal((4, 6, 8, 3))
    _same(L.tensorinv(P(a), 2), TL.tensorinv(T(a), 2))
    b, a2 = RNG.standard_normal((4, 6)), RNG.standard_normal((4, 6, 3, 8))
    _same(L.tensorsolve(P(a2), P(b)), TL.tensorsolve(T(a2), T(b)))
    moved = a2.transpose(2, 3, 0, 1)
    _same(L.tensorsolve(P(moved), P(b), dims=(0, 1)),
          TL.tensorsolve(T(moved), T(b), dims=(0, 1)))
    x = RNG.standard_normal((2, 4))
    _same(L.vander(P(x)), TL.vander(T(x)))
    _grads(lambda v: L.vander(v, N=6), lambda v: TL.vander(v, N=6), [x])
    with pytest.raises(RuntimeError, match="N must be greater than 1"):
        L.vander(P(x), N=1)


def test_ex_forms_report_failures_per_matrix():
    spd = A @ A.transpose(0, 2, 1)
    _same(L.cholesky_ex(P(spd)), TL.cholesky_ex(T(spd)))
    _same(L.solve_ex(P(A), P(B)), TL.solve_ex(T(A), T(B)))
    _same(L.inv_ex(P(A)), TL.inv_ex(T(A)))
    singular = RNG.standard_normal((2, 3, 3))
    singular[1] = 1.0
    ours, theirs = L.inv_ex(P(singular)), TL.inv_ex(T(singular))
    assert int(ours.info[0]) == int(theirs.info[0]) == 0
    assert int(ours.info[1]) != 0 and int(theirs.info[1]) != 0
    _same(ours.inverse[0], theirs.inverse[0])
    _same(L.solve_ex(P(singular), P(B[:2, :3])).result[0], TL.solve(T(singular[0]),
                                                                     T(B[0, :3])))
    _same(L.solve_ex(P(singular), P(B[0, :3, 0])).result[0], TL.solve(T(singular[0]),
                                                                       T(B[0, :3, 0])))
    notpd = -spd
    assert L.cholesky_ex(P(notpd)).info.numpy().all()
    with pytest.raises(L.LinAlgError):
        L.inv_ex(P(singular), check_errors=True)


def test_linalg_errors_are_runtime_and_numpy_errors():
    singular = np.ones((3, 3))
    for fn in (L.inv, lambda a: L.solve(a, P(np.ones(3))), L.cholesky):
        with pytest.raises(L.LinAlgError) as info:
            fn(P(-singular if fn is L.cholesky else singular))
        assert isinstance(info.value, RuntimeError)
        assert isinstance(info.value, np.linalg.LinAlgError)


def test_eig_and_eigvals_match_torch():
    w, v = L.eig(P(A))
    wt = TL.eig(T(A)).eigenvalues
    assert w.dtype == pynn.complex128 and v.dtype == pynn.complex128
    np.testing.assert_allclose(np.sort_complex(w.numpy().ravel()),
                               np.sort_complex(wt.numpy().ravel()), atol=1e-9)
    np.testing.assert_allclose(A.astype(complex) @ v.numpy(), v.numpy() * w.numpy()[:, None, :],
                               atol=1e-9)
    np.testing.assert_allclose(np.sort_complex(L.eigvals(P(A)).numpy().ravel()),
                               np.sort_complex(TL.eigvals(T(A)).numpy().ravel()), atol=1e-9)
    assert L.eig(P(A.astype(np.float32))).eigenvalues.dtype == pynn.complex64
    a = P(A, requires_grad=True)
    with pytest.raises(NotImplementedError, match="linalg.eig"):
        L.eigvals(a).real.sum().backward()


@pytest.mark.filterwarnings("ignore:torch.triangular_solve is deprecated")
@pytest.mark.parametrize("upper, transpose, unit", [(True, False, False), (False, False, True),
                                                    (True, True, False), (False, True, True)])
def test_the_older_names_match_torch(upper, transpose, unit):
    tri = np.triu(A[0]) if upper else np.tril(A[0])
    ours = pynn.triangular_solve(P(B[0]), P(tri), upper, transpose, unit)
    theirs = torch.triangular_solve(T(B[0]), T(tri), upper, transpose, unit)
    _same(ours, theirs)
    _same(P(B[0]).triangular_solve(P(tri), upper).solution,
          T(B[0]).triangular_solve(T(tri), upper).solution)
    m = RNG.standard_normal((2, 3, 3))
    _same(pynn.matrix_exp(P(m)), torch.matrix_exp(T(m)), tol=1e-12)
    _same(P(m).matrix_exp(), T(m).matrix_exp(), tol=1e-12)


def test_lstsq_of_a_vector_and_eig_edge_cases_match_torch():
    a, b = RNG.standard_normal((5, 2)), RNG.standard_normal(5)
    _same(L.lstsq(P(a), P(b)).solution, TL.lstsq(T(a), T(b)).solution)
    _same(L.lstsq(P(a), P(b), driver="gelsd"), TL.lstsq(T(a), T(b), driver="gelsd"))
    with pytest.raises(RuntimeError, match="square"):
        L.eig(P(np.ones((2, 3))))
    nan = np.array([[1.0, np.nan], [0.0, 1.0]])
    assert np.isnan(L.eigvals(P(nan)).numpy()).all()
