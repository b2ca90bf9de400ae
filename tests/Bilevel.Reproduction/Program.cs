using Bilevel.Tasks.Reproduction;

// dotnet run -c Release --project tests/Bilevel.Reproduction -- [--out results/] [--quick]
var options = new ReproductionOptions();
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--quick":
            options = options with { Quick = true };
            break;
        case "--out" when i + 1 < args.Length:
            options = options with { OutputDirectory = args[++i] };
            break;
        case "--seed" when i + 1 < args.Length && ulong.TryParse(args[i + 1], out ulong seed):
            options = options with { Seed = seed };
            i++;
            break;
        case "-h" or "--help":
            Console.WriteLine("usage: dotnet run -c Release --project tests/Bilevel.Reproduction -- [--out FOLDER (default results)] [--quick] [--seed N]");
            return 0;
        default:
            Console.Error.WriteLine($"reproduction: unknown or incomplete argument '{args[i]}'; try --help.");
            return 2;
    }
}
var result = ReproductionRunner.Run(options);
Console.WriteLine($"results: {result.ReadmePath}");
return 0;
