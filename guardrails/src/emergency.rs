//! The deterministic emergency answer: written here in code, never by the model.

use crate::red_flags::Category;

/// Default wording of whom to call; deployments set their own (config `emergency_numbers`).
pub const DEFAULT_NUMBERS: &str =
    "your local emergency number (911 in the US, 999 in the UK, 112 in the EU)";

/// What to do now for one category: one short, plain sentence.
fn advice(category: Category) -> &'static str {
    match category {
        Category::Cardiac => "Chest pain or pressure, especially with sweating, breathlessness or pain spreading to the arm or jaw, can be a heart attack: stop what you are doing, sit down and do not drive yourself to hospital.",
        Category::Stroke => "Face drooping, arm weakness or slurred speech can be a stroke: note the time the symptoms started; every minute matters for treatment.",
        Category::RespiratoryDistress => "Severe difficulty breathing needs help now: sit upright and, if you have a reliever inhaler, use it as your plan says.",
        Category::Sepsis => "Signs of a severe infection spreading through the body (sepsis) need hospital treatment within the hour.",
        Category::Anaphylaxis => "Swelling of the lips, tongue or throat or trouble breathing after a trigger can be anaphylaxis: use an adrenaline auto-injector now if one is available, and lie down with legs raised unless breathing is easier sitting.",
        Category::Meningitis => "A stiff neck, fever and a rash that does not fade under a glass can be meningitis, which needs treatment immediately.",
        Category::SelfHarm => "You deserve help right now: if you are in danger or might act on these thoughts, stay with someone you trust, move away from anything you could use to hurt yourself, and contact a crisis line (988 in the US, 116 123 Samaritans in the UK) if you cannot call emergency services.",
        Category::SevereBleeding => "Press firmly on the wound with a clean cloth and keep pressing; do not remove soaked cloths, add more on top.",
        Category::SeizureCollapse => "Someone having a seizure or who has collapsed: keep them safe from injury, do not put anything in their mouth, and turn them on their side once the jerking stops; start CPR if they are not breathing normally.",
        Category::PoisoningOverdose => "After a possible overdose or poisoning, do not wait for symptoms: keep the packaging to show the responders and do not make the person vomit.",
        Category::MajorTrauma => "After a serious injury, do not move the person unless they are in danger; control any bleeding with firm pressure.",
        Category::Obstetric => "Heavy bleeding, severe pain, fits or reduced baby movements in pregnancy need urgent assessment at a hospital maternity unit.",
        Category::PaediatricDanger => "A baby under 3 months with a temperature of 38 °C or more, or a child who is floppy, hard to wake or breathing fast, needs to be seen by a doctor urgently.",
    }
}

/// The full emergency message for the detected categories.
pub fn emergency_message(categories: &[Category], numbers: &str) -> String {
    emergency_message_with(categories, &[], numbers)
}

/// The full emergency message for the detected categories plus extra reasons written by
/// other deterministic rules (e.g. the vital-sign scores), one line each.
pub fn emergency_message_with(categories: &[Category], extra: &[&str], numbers: &str) -> String {
    let mut text = format!(
        "This may be a medical emergency. Call {numbers} now, or ask someone near you to call.\n"
    );
    for line in categories
        .iter()
        .map(|c| advice(*c))
        .chain(extra.iter().copied())
    {
        text.push_str("\n- ");
        text.push_str(line);
    }
    text.push_str(
        "\n\nIf the person stops breathing normally, the call handler will guide you through CPR. \
         This automated service cannot assess you; please do not wait for more messages here.",
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_the_number_and_each_category() {
        let m = emergency_message(&[Category::Cardiac, Category::Stroke], DEFAULT_NUMBERS);
        assert!(m.starts_with("This may be a medical emergency. Call your local emergency number"));
        assert!(m.contains("heart attack") && m.contains("stroke"));
        let m = emergency_message(&[Category::Cardiac], "000 (Australia)");
        assert!(m.contains("Call 000 (Australia) now"));
        for c in Category::ALL {
            assert!(!advice(c).is_empty());
        }
    }
}
