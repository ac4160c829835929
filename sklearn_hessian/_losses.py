"""Pointwise losses on the linear predictor ``Z = X @ W + b``.

Every loss works on a 2-D raw prediction ``Z`` of shape ``(n_samples, k)``:
``k = 1`` for binary classification and single-target regression, ``k = n_targets``
for multi-target regression and ``k = n_classes`` for the multinomial loss.
The encoded target ``y`` is ``(n_samples, k)`` floats for regression, ``(n_samples,)``
in {0, 1} for the binomial loss and ``(n_samples,)`` class indices for the
multinomial loss.

A loss only knows about one sample at a time; weighting, the penalty and the
products with ``X`` live in :mod:`sklearn_hessian._objective`.

Second derivatives are exposed through ``curvature(y, Z)``, which returns the
smallest object that describes them, and ``curvature_times(c, dZ)``, which applies
them to a direction in predictor space:

- diagonal losses (squared error, binomial) return ``h`` of shape ``(n,)``: the
  Hessian of sample ``i`` with respect to its ``k`` predictions is ``h_i * I_k``.
  For the squared error the same ``h`` serves every output, which lets one
  factorisation serve all regression targets (``shared_hessian = True``);
- the multinomial loss returns the probabilities ``P`` of shape ``(n, K)``: the
  Hessian of sample ``i`` is ``diag(p_i) - p_i p_i^T``, applied without forming it.
"""

import numpy as np
from scipy.special import expit


def _sum64(a, weights):
    # The objective value drives line-search decisions at rounding level, so sum
    # it in float64 even when the data are float32.
    return float(np.dot(weights, a.astype(np.float64, copy=False)))


class HalfSquaredError:
    """``loss_i = 1/2 * ||z_i - y_i||^2`` summed over outputs."""

    name = "squared_error"
    diagonal_curvature = True
    shared_hessian = True  # h_i does not depend on the output, nor on w
    constant_hessian = True

    def value(self, y, Z):
        r = Z - y
        return 0.5 * np.einsum("ij,ij->i", r, r)

    def gradient(self, y, Z):
        return Z - y

    def value_gradient(self, y, Z):
        r = Z - y
        return 0.5 * np.einsum("ij,ij->i", r, r), r

    def curvature(self, y, Z):
        return np.ones(Z.shape[0], dtype=Z.dtype)

    def curvature_times(self, c, dZ):
        return c[:, None] * dZ

    def line_value(self, y, Z, dZ, t):
        r = Z + t * dZ - y
        return 0.5 * np.einsum("ij,ij->i", r, r)


class BinomialLoss:
    """Binary log-loss ``log(1 + exp(z)) - y z`` with ``y`` in {0, 1}."""

    name = "log_loss"
    diagonal_curvature = True
    shared_hessian = False
    constant_hessian = False

    @staticmethod
    def _value(y, z):
        # log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|)): no overflow for large |z|,
        # and 2.7x faster than np.logaddexp(0, z) (the line search's trials).
        # In y's and z's common type, as y * z is (y may be float64 for float32 z).
        v = np.abs(z).astype(np.result_type(y, z), copy=False)
        np.negative(v, out=v)
        np.exp(v, out=v)
        np.log1p(v, out=v)
        v += np.maximum(z, 0)
        v -= y * z
        return v

    def value(self, y, Z):
        return self._value(y, Z[:, 0])

    def gradient(self, y, Z):
        return (expit(Z[:, 0]) - y)[:, None]

    def value_gradient(self, y, Z):
        z = Z[:, 0]
        return self._value(y, z), (expit(z) - y)[:, None]

    def curvature(self, y, Z):
        # p (1 - p) = e / (1 + e)^2 with e = exp(-|z|): no cancellation when p -> 1
        # (as expit(z) expit(-z)), one exponential instead of two (3x faster).
        e = np.abs(Z[:, 0])
        np.negative(e, out=e)
        np.exp(e, out=e)
        d = 1.0 + e
        d *= d
        e /= d
        return e

    def curvature_times(self, c, dZ):
        return c[:, None] * dZ

    def line_value(self, y, Z, dZ, t):
        return self._value(y, Z[:, 0] + t * dZ[:, 0])


def _row_max(Z):
    """``Z.max(axis=1)``, through elementwise maxima of the columns when they are
    few: numpy's reduction along a short last axis is four times slower (100k x
    10: 2.9 -> 0.7 ms)."""
    if Z.shape[1] > 64 or Z.shape[1] == 0:
        return Z.max(axis=1)
    m = Z[:, 0].copy()
    for c in range(1, Z.shape[1]):
        np.maximum(m, Z[:, c], out=m)
    return m


def _shifted_exp(Z):
    """``(S, E, s)``: ``S = Z - max_k Z``, ``E = exp(S)`` and ``s = sum_k E``.

    The pieces of the log-softmax ``S - log(s)`` and the softmax ``E / s``, so that
    a caller needing both computes one exponential. Row sums go through a
    matrix-vector product: numpy's reductions along a short last axis are several
    times slower than BLAS on an (n, K) array.
    """
    S = Z - _row_max(Z)[:, None]
    E = np.exp(S)
    s = E @ np.ones(Z.shape[1], dtype=Z.dtype)
    return S, E, s


class MultinomialLoss:
    """Multinomial log-loss ``logsumexp(z_i) - z_{i, y_i}`` over all K classes.

    The parametrisation is symmetric (one coefficient vector per class); the
    solvers keep coefficients and intercepts summing to zero over classes.
    """

    name = "log_loss"
    diagonal_curvature = False
    shared_hessian = False
    constant_hessian = False

    @staticmethod
    def _value(y, S, s):
        return np.log(s) - S[np.arange(S.shape[0]), y]

    def value(self, y, Z):
        S, _, s = _shifted_exp(Z)
        return self._value(y, S, s)

    def gradient(self, y, Z):
        return self.value_gradient(y, Z)[1]

    def value_gradient(self, y, Z):
        return self.value_gradient_curvature(y, Z)[:2]

    def value_gradient_curvature(self, y, Z):
        """Value, gradient and the probabilities (``curvature``) from one softmax:
        the solvers need the curvature at the point where they took the gradient.
        Where ``Z`` is one row repeated (the start, ``LinearObjective.predictor``)
        the softmax is of that row, and the probabilities are that row repeated
        (read-only, like ``Z``)."""
        repeated = Z.ndim == 2 and Z.shape[0] > 1 and Z.strides[0] == 0
        S, P, s = _shifted_exp(Z[:1] if repeated else Z)
        P /= s[:, None]  # probabilities, in place of the exponentials
        if repeated:
            value = (np.log(s) - S[0])[y]
            R = np.repeat(P, Z.shape[0], axis=0)
            P = np.broadcast_to(P, Z.shape)
        else:
            value = self._value(y, S, s)
            R = S  # reuse the buffer for the gradient P - onehot(y)
            np.copyto(R, P)
        R[np.arange(Z.shape[0]), y] -= 1
        return value, R, P

    def curvature(self, y, Z):
        _, P, s = _shifted_exp(Z)
        P /= s[:, None]
        return P

    def curvature_times(self, P, dZ):
        # (diag(p) - p p^T) dz = p * (dz - p.dz), with one temporary.
        R = dZ - np.einsum("ij,ij->i", P, dZ)[:, None]
        R *= P
        return R

    def line_value(self, y, Z, dZ, t):
        return self.value(y, Z + t * dZ)
