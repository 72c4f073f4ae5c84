//! The token budget of an answer, decided in one place: what the request may spend over
//! all its turns (checked against the context once the first prompt is known), and what
//! each turn may generate.

use medserve_models::Error as ModelError;

/// The completion budget of one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// The model's context length.
    pub max_ctx: usize,
    /// Completion tokens the whole answer may use (every turn together).
    pub total: usize,
}

/// What one turn may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// Generate at most this many tokens.
    Generate(usize),
    /// The budget is spent: the answer ends with `length`.
    Spent,
    /// The prompt fills the context: an error on the first turn, a `length` stop after.
    ContextFull,
}

impl Budget {
    /// The budget of a request whose first prompt has `prompt` tokens: `max_tokens` when
    /// set (by the request, or a key's default), else what the context leaves. A request
    /// that cannot generate one token (or the `max_tokens` it asked for: `explicit`) is
    /// refused with the context-length error.
    pub fn new(
        max_ctx: usize,
        prompt: usize,
        max_tokens: Option<usize>,
        explicit: bool,
    ) -> Result<Budget, ModelError> {
        let total = max_tokens.unwrap_or_else(|| max_ctx.saturating_sub(prompt));
        if prompt + total.max(1) > max_ctx {
            return Err(ModelError::ContextLength {
                max: max_ctx,
                prompt,
                completion: if explicit { total } else { 1 },
            });
        }
        Ok(Budget { max_ctx, total })
    }

    /// Whether a first prompt of `prompt` tokens leaves room for `min_completion`.
    pub fn fits(max_ctx: usize, prompt: usize, min_completion: usize) -> bool {
        prompt + min_completion <= max_ctx
    }

    /// What a turn with a prompt of `prompt` tokens may generate after `used` completion
    /// tokens of earlier turns.
    pub fn turn(&self, prompt: usize, used: usize) -> Turn {
        let remaining = self.total.saturating_sub(used);
        let room = self.max_ctx.saturating_sub(prompt);
        if remaining == 0 {
            Turn::Spent
        } else if room == 0 {
            Turn::ContextFull
        } else {
            Turn::Generate(remaining.min(room))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_over_turns_and_context() {
        let b = Budget::new(100, 40, Some(30), true).unwrap();
        assert_eq!(b.turn(40, 0), Turn::Generate(30));
        assert_eq!(b.turn(80, 25), Turn::Generate(5));
        assert_eq!(b.turn(95, 10), Turn::Generate(5));
        assert_eq!(b.turn(60, 30), Turn::Spent);
        assert_eq!(b.turn(100, 10), Turn::ContextFull);
        // Without max_tokens the context left is the budget.
        assert_eq!(Budget::new(100, 40, None, false).unwrap().total, 60);
        // Too long: refused, naming what was asked.
        assert!(matches!(
            Budget::new(100, 90, Some(20), true),
            Err(ModelError::ContextLength {
                max: 100,
                prompt: 90,
                completion: 20
            })
        ));
        assert!(matches!(
            Budget::new(100, 100, None, false),
            Err(ModelError::ContextLength { completion: 1, .. })
        ));
        assert!(Budget::fits(100, 90, 10));
        assert!(!Budget::fits(100, 91, 10));
    }
}
