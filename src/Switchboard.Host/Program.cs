using Switchboard.Hosting.Cli;

return await SwitchboardCommandLine.RunAsync(args);
