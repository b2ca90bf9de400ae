namespace Bilevel.Hypergradients.Problems;

/// <summary>A, B, C, d and θ₀ of a <see cref="QuadraticProblem{T}"/> in double precision.</summary>
public sealed record QuadraticMatrices(double[,] A, double[,] B, double[,] C, double[] D, double[] Theta0);

/// <summary>
/// Closed-form quantities of the quadratic problem, computed with plain double arithmetic — no autodiff — so that
/// they are an independent reference for the estimators.
/// </summary>
public static class QuadraticReference
{
    internal static QuadraticMatrices RandomMatrices(int m, int n, double conditioning, ref Bilevel.Tensors.CounterRandom random)
    {
        // A = Q diag(λ) Qᵀ with Q orthonormal from Gram–Schmidt and λ spread over [1, conditioning].
        var q = new double[m, m];
        for (int i = 0; i < m; i++) for (int j = 0; j < m; j++) q[i, j] = random.NextGaussian();
        for (int j = 0; j < m; j++)
        {
            for (int k = 0; k < j; k++)
            {
                double dot = 0;
                for (int i = 0; i < m; i++) dot += q[i, j] * q[i, k];
                for (int i = 0; i < m; i++) q[i, j] -= dot * q[i, k];
            }
            double norm = 0;
            for (int i = 0; i < m; i++) norm += q[i, j] * q[i, j];
            norm = Math.Sqrt(norm);
            for (int i = 0; i < m; i++) q[i, j] /= norm;
        }
        var a = new double[m, m];
        for (int k = 0; k < m; k++)
        {
            double lambda = m == 1 ? 1 : 1 + (conditioning - 1) * k / (m - 1);
            for (int i = 0; i < m; i++) for (int j = 0; j < m; j++) a[i, j] += lambda * q[i, k] * q[j, k];
        }
        var b = Gaussian(m, n, 1 / Math.Sqrt(n), ref random);
        var c = Gaussian(m, m, 1 / Math.Sqrt(m), ref random);
        var d = new double[m];
        var theta0 = new double[m];
        for (int i = 0; i < m; i++) d[i] = random.NextGaussian();
        for (int i = 0; i < m; i++) theta0[i] = random.NextGaussian();
        return new QuadraticMatrices(a, b, c, d, theta0);
    }

    /// <summary>
    /// ∇h(φ) of the T-step objective for SGD (μ = 0) or heavy-ball momentum μ, by the linear recurrence of the state
    /// and of its Jacobian: Z_t = ∂s_t/∂φ with s = (θ, m), m_t = μ m_{t−1} + Aθ_{t−1} − Bφ, θ_t = θ_{t−1} − η m_t.
    /// </summary>
    public static double[] Hypergradient(QuadraticMatrices p, double[] phi, int steps, double learningRate, double momentum, double rho)
    {
        int m = p.D.Length, n = phi.Length;
        var theta = (double[])p.Theta0.Clone();
        var buffer = new double[m];
        var zTheta = new double[m, n];
        var zBuffer = new double[m, n];
        for (int t = 0; t < steps; t++)
        {
            var gradient = Subtract(MatVec(p.A, theta), MatVec(p.B, phi));
            for (int i = 0; i < m; i++) buffer[i] = momentum * buffer[i] + gradient[i];
            var gradientJacobian = MatMat(p.A, zTheta);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    zBuffer[i, j] = momentum * zBuffer[i, j] + gradientJacobian[i, j] - p.B[i, j];
                    zTheta[i, j] -= learningRate * zBuffer[i, j];
                }
            for (int i = 0; i < m; i++) theta[i] -= learningRate * buffer[i];
        }
        var residual = Subtract(MatVec(p.C, theta), p.D);
        var outerTheta = new double[m];
        for (int i = 0; i < m; i++) for (int k = 0; k < m; k++) outerTheta[i] += p.C[k, i] * residual[k];
        var result = new double[n];
        for (int j = 0; j < n; j++)
        {
            result[j] = rho * phi[j];
            for (int i = 0; i < m; i++) result[j] += zTheta[i, j] * outerTheta[i];
        }
        return result;
    }

    /// <summary>The implicit hypergradient at the exact inner minimiser θ* = A⁻¹Bφ: Bᵀ A⁻¹ Cᵀ(Cθ* − d) + ρφ.</summary>
    public static double[] ImplicitHypergradient(QuadraticMatrices p, double[] phi, double rho)
    {
        int m = p.D.Length, n = phi.Length;
        var thetaStar = Solve(p.A, MatVec(p.B, phi));
        var residual = Subtract(MatVec(p.C, thetaStar), p.D);
        var outerTheta = new double[m];
        for (int i = 0; i < m; i++) for (int k = 0; k < m; k++) outerTheta[i] += p.C[k, i] * residual[k];
        var q = Solve(p.A, outerTheta);
        var result = new double[n];
        for (int j = 0; j < n; j++)
        {
            result[j] = rho * phi[j];
            for (int i = 0; i < m; i++) result[j] += p.B[i, j] * q[i];
        }
        return result;
    }

    private static double[] MatVec(double[,] a, double[] x)
    {
        var y = new double[a.GetLength(0)];
        for (int i = 0; i < y.Length; i++) for (int j = 0; j < x.Length; j++) y[i] += a[i, j] * x[j];
        return y;
    }

    private static double[,] MatMat(double[,] a, double[,] b)
    {
        int m = a.GetLength(0), k = a.GetLength(1), n = b.GetLength(1);
        var c = new double[m, n];
        for (int i = 0; i < m; i++) for (int l = 0; l < k; l++) for (int j = 0; j < n; j++) c[i, j] += a[i, l] * b[l, j];
        return c;
    }

    private static double[] Subtract(double[] x, double[] y) => x.Select((v, i) => v - y[i]).ToArray();

    private static double[,] Gaussian(int rows, int cols, double std, ref Bilevel.Tensors.CounterRandom random)
    {
        var g = new double[rows, cols];
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) g[i, j] = std * random.NextGaussian();
        return g;
    }

    /// <summary>Solves a symmetric positive definite system by Cholesky.</summary>
    private static double[] Solve(double[,] a, double[] rhs)
    {
        int n = rhs.Length;
        var l = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++)
            {
                double s = a[i, j];
                for (int k = 0; k < j; k++) s -= l[i, k] * l[j, k];
                l[i, j] = i == j ? Math.Sqrt(s) : s / l[j, j];
            }
        var y = new double[n];
        for (int i = 0; i < n; i++)
        {
            double s = rhs[i];
            for (int k = 0; k < i; k++) s -= l[i, k] * y[k];
            y[i] = s / l[i, i];
        }
        var x = new double[n];
        for (int i = n - 1; i >= 0; i--)
        {
            double s = y[i];
            for (int k = i + 1; k < n; k++) s -= l[k, i] * x[k];
            x[i] = s / l[i, i];
        }
        return x;
    }
}
