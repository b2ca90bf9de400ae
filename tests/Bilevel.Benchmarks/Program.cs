using System.Globalization;
using Bilevel.Benchmarks;
using Bilevel.Benchmarks.Estimators;

// Usage: Bilevel.Benchmarks [--threads N] [--reps R] [--only gemm|models|estimators]
int threads = 2, repetitions = 9;
string only = "";
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--threads": threads = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--reps": repetitions = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--only": only = args[++i]; break;
        default:
            Console.Error.WriteLine($"unknown argument '{args[i]}'; usage: [--threads N] [--reps R] [--only gemm|models|estimators]");
            return 2;
    }
}
if (only is "" or "gemm") GemmBenchmark.Run(threads, Console.Out);
if (only is "" or "models") ModelBenchmark.Run(threads, repetitions, Console.Out);
if (only is "" or "estimators") return EstimatorBenchmark.Run(threads, Console.Out);
return 0;
