using System.Diagnostics.CodeAnalysis;

namespace Bilevel.Tensors.Internal.Kernels;

/// <summary>Argument checks shared by every GEMM implementation, run before any pointer is taken.</summary>
internal static class GemmArguments
{
    /// <summary>GEMM is implemented for float and double; the checks fold away for those when the JIT specialises.</summary>
    public static void EnsureSupported<T>()
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
            ThrowNotSupported(typeof(T));
    }

    public static void Validate(
        bool transposeA, bool transposeB, int m, int n, int k,
        int aLength, int lda, int bLength, int ldb, int cLength, int ldc)
    {
        if ((m | n | k) < 0)
            ThrowNegativeSize(m, n, k);

        // Stored shapes: op(A) is m×k, so A itself is k×m when transposed; likewise for B.
        CheckOperand("A", "a", transposeA ? k : m, transposeA ? m : k, lda, aLength, transposeA);
        CheckOperand("B", "b", transposeB ? n : k, transposeB ? k : n, ldb, bLength, transposeB);
        CheckOperand("C", "c", m, n, ldc, cLength, transposed: false);
    }

    private static void CheckOperand(string operand, string paramName, int rows, int cols, int ld, int length, bool transposed)
    {
        // A stride shorter than a row would make rows overlap, which BLAS rejects and which is never meant.
        if (ld < cols)
            ThrowStride(operand, paramName, rows, cols, ld, transposed);

        long needed = rows == 0 || cols == 0 ? 0 : (long)(rows - 1) * ld + cols;
        if (length < needed)
            ThrowLength(operand, paramName, rows, cols, ld, transposed, needed, length);
    }

    [DoesNotReturn]
    private static void ThrowNotSupported(Type type) =>
        throw new NotSupportedException($"gemm: element type {type.Name} is not supported; use float or double.");

    [DoesNotReturn]
    private static void ThrowNegativeSize(int m, int n, int k) =>
        throw new ArgumentOutOfRangeException(
            m < 0 ? "m" : n < 0 ? "n" : "k", $"gemm: sizes must be non-negative, got m={m}, n={n}, k={k}.");

    [DoesNotReturn]
    private static void ThrowStride(string operand, string paramName, int rows, int cols, int ld, bool transposed) =>
        throw new ArgumentException(
            $"gemm: operand {operand} is stored {rows}×{cols}{Transposed(transposed)}, so its row stride must be at least {cols}, got {ld}.",
            paramName);

    [DoesNotReturn]
    private static void ThrowLength(string operand, string paramName, int rows, int cols, int ld, bool transposed, long needed, int length) =>
        throw new ArgumentException(
            $"gemm: operand {operand} is stored {rows}×{cols}{Transposed(transposed)} with row stride {ld}, so it needs {needed} elements, but its span has {length}.",
            paramName);

    private static string Transposed(bool transposed) => transposed ? " (transposed)" : "";
}
