using Switchboard.Bench.Cli;

return await BenchCommandLine.RunAsync(args);
