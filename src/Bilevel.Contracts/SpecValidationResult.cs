using System.Diagnostics.CodeAnalysis;

namespace Bilevel.Contracts;

/// <summary>The outcome of reading a sweep spec: the spec when it is valid, otherwise the errors, never both.</summary>
public sealed class SpecValidationResult
{
    private SpecValidationResult(SweepSpec? spec, IReadOnlyList<FieldError> errors)
    {
        Spec = spec;
        Errors = errors;
    }

    public SweepSpec? Spec { get; }

    public IReadOnlyList<FieldError> Errors { get; }

    [MemberNotNullWhen(true, nameof(Spec))]
    public bool IsValid => Spec is not null;

    public static SpecValidationResult Valid(SweepSpec spec) => new(spec, []);

    public static SpecValidationResult Invalid(IReadOnlyList<FieldError> errors)
    {
        if (errors.Count == 0)
            throw new ArgumentException("An invalid result needs at least one error.", nameof(errors));
        return new(null, errors);
    }

    /// <summary>The errors as an RFC 9457 problem (HTTP 400) for the API and the CLI.</summary>
    public ValidationProblem ToProblem() =>
        ValidationProblem.FromErrors("The sweep spec is not valid.", Errors);
}
