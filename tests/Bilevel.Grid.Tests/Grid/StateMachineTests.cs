using Bilevel.Contracts;

namespace Bilevel.Grid.Tests.Grid;

public sealed class StateMachineTests
{
    [Theory]
    [InlineData(SweepState.Active, SweepState.Paused, true)]
    [InlineData(SweepState.Paused, SweepState.Active, true)]
    [InlineData(SweepState.Active, SweepState.Cancelled, true)]
    [InlineData(SweepState.Paused, SweepState.Completed, true)]
    [InlineData(SweepState.Cancelled, SweepState.Active, false)]
    [InlineData(SweepState.Completed, SweepState.Paused, false)]
    [InlineData(SweepState.Completed, SweepState.Cancelled, false)]
    public void Sweeps_move_only_along_their_table(SweepState from, SweepState to, bool allowed) =>
        Assert.Equal(allowed, SweepStateMachine.CanMove(from, to));

    [Theory]
    [InlineData(TrialState.Queued, TrialState.Running, true)]
    [InlineData(TrialState.Queued, TrialState.Cancelled, true)]
    [InlineData(TrialState.Running, TrialState.Queued, true)]
    [InlineData(TrialState.Running, TrialState.Completed, true)]
    [InlineData(TrialState.Running, TrialState.Failed, true)]
    [InlineData(TrialState.Queued, TrialState.Completed, false)]
    [InlineData(TrialState.Completed, TrialState.Queued, false)]
    [InlineData(TrialState.Failed, TrialState.Running, false)]
    [InlineData(TrialState.Cancelled, TrialState.Queued, false)]
    public void Trials_move_only_along_their_table(TrialState from, TrialState to, bool allowed) =>
        Assert.Equal(allowed, TrialStateMachine.CanMove(from, to));

    [Fact]
    public void Final_states_and_the_unfinished_ones_partition_the_trial_states()
    {
        Assert.Equal([TrialState.Queued, TrialState.Running], TrialStateMachine.Unfinished);
        Assert.All(Enum.GetValues<TrialState>().Except(TrialStateMachine.Unfinished), s => Assert.True(TrialStateMachine.IsFinal(s)));
        Assert.Equal([SweepState.Active, SweepState.Paused], SweepStateMachine.Sources(SweepState.Cancelled));
    }
}
