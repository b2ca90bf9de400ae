// The infrastructure linked from Bilevel.Grid.Tests (PostgresServer, ProcessRunner, Eventually) keeps its namespace.
global using Bilevel.Grid.Tests.Infrastructure;
