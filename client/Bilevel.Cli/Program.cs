using Bilevel.Cli;

return await BilevelCli.RunAsync(args).ConfigureAwait(false);
