//! Labelled messages for measuring the red-flag detector, and the evaluation routine.
//!
//! [`LABELLED`] holds hand-written patient and caregiver messages. About half are
//! emergencies spread over every [`Category`] (with typos, indirect phrasing and
//! third-party descriptions); the rest are non-emergencies, mostly hard negatives:
//! negated symptoms, past history, information questions, idioms and medical words in
//! harmless senses. The labels describe what the message means, not what the detector
//! happens to output.

use serde::Serialize;

use crate::red_flags::{detect, Category};

/// Hand-labelled messages: `(text, Some(category_snake_case))` for emergencies,
/// `(text, None)` for messages that are not emergencies.
pub const LABELLED: &[(&str, Option<&str>)] = &[
    // ----- Emergencies: cardiac -----
    ("my jaw and left arm ache and I'm sweating", Some("cardiac")),
    (
        "crushing chest pain for 20 mins, feel sick and clammy",
        Some("cardiac"),
    ),
    (
        "Chesst feels really tight and heavy, like an elephant sitting on it",
        Some("cardiac"),
    ),
    (
        "I think my husband is having a hart attack, he's grey and holding his chest",
        Some("cardiac"),
    ),
    ("pain in my chest going down my left arm", Some("cardiac")),
    (
        "Dad says there's pressure in his chest and he feels sick",
        Some("cardiac"),
    ),
    (
        "sudden tightness across my chest walking up the stairs, still there now",
        Some("cardiac"),
    ),
    (
        "its like indigestion but im sweating buckets and it wont go",
        Some("cardiac"),
    ),
    (
        "my chest is killing me and I can feel it in my jaw",
        Some("cardiac"),
    ),
    // ----- Emergencies: stroke -----
    ("my face is droopy and words come out wrong", Some("stroke")),
    (
        "my dad is slurring his words and his face is drooping",
        Some("stroke"),
    ),
    ("worst headache of my life came on suddenly", Some("stroke")),
    (
        "mum cant lift her right arm and her smile is lopsided",
        Some("stroke"),
    ),
    (
        "I think I'm having a stroke, left side of my body is numb",
        Some("stroke"),
    ),
    (
        "grandad suddenly cant speak properly and seems confused",
        Some("stroke"),
    ),
    (
        "sudden loss of vision in one eye about 30 mins ago",
        Some("stroke"),
    ),
    (
        "Wife's mouth has dropped on one side and her arm went weak",
        Some("stroke"),
    ),
    (
        "headache like being hit with a bat, came out of nowhere",
        Some("stroke"),
    ),
    // ----- Emergencies: respiratory distress -----
    ("cant breath properly", Some("respiratory_distress")),
    (
        "my son is wheezing and his lips are going blue",
        Some("respiratory_distress"),
    ),
    (
        "struggling to breathe and my inhaler isnt helping",
        Some("respiratory_distress"),
    ),
    (
        "baby is grunting and her ribs are sucking in with each breath",
        Some("respiratory_distress"),
    ),
    (
        "I can't catch my breath even sitting still",
        Some("respiratory_distress"),
    ),
    (
        "he's choking on a piece of meat and can't cough",
        Some("respiratory_distress"),
    ),
    (
        "shortness of breath getting worse, can barely talk",
        Some("respiratory_distress"),
    ),
    (
        "my oxygen is 88 on the finger monitor and I feel awful",
        Some("respiratory_distress"),
    ),
    // ----- Emergencies: sepsis -----
    (
        "I've had a uti for days and now I'm shivering uncontrollably and confused",
        Some("sepsis"),
    ),
    (
        "my mum has a high temperature and she's not making sense, her skin looks mottled",
        Some("sepsis"),
    ),
    (
        "Think I have sepsis, fever, heart racing and haven't peed since this morning",
        Some("sepsis"),
    ),
    (
        "post op wound is infected and i feel like im going to die, temp 39.4",
        Some("sepsis"),
    ),
    (
        "husband has pneumonia and is now really confused and drowsy",
        Some("sepsis"),
    ),
    (
        "fever and shaking uncontrollably, feel like something is really wrong",
        Some("sepsis"),
    ),
    (
        "my dad has a kidney infection and hasnt had a wee all day",
        Some("sepsis"),
    ),
    // ----- Emergencies: anaphylaxis -----
    ("lips swelling after peanuts", Some("anaphylaxis")),
    (
        "my throat feels like its closing up after the bee sting",
        Some("anaphylaxis"),
    ),
    ("used my epipen, daughter still wheezy", Some("anaphylaxis")),
    (
        "ate some prawns now my tongue is swollen and my throat feels tight",
        Some("anaphylaxis"),
    ),
    (
        "started the new antibiotics and now covered in hives and struggling to breathe",
        Some("anaphylaxis"),
    ),
    (
        "Having an anaphylactic reaction I think",
        Some("anaphylaxis"),
    ),
    (
        "son is allergic to nuts, ate a cookie, face is swelling up and he's wheezing",
        Some("anaphylaxis"),
    ),
    // ----- Emergencies: meningitis -----
    ("stiff neck and a rash that doesnt fade", Some("meningitis")),
    (
        "my daughter has a fever and purple spots on her legs",
        Some("meningitis"),
    ),
    (
        "bad headache, temperature and the light hurts my eyes, neck really stiff",
        Some("meningitis"),
    ),
    (
        "did the glass test on his rash and it's still there",
        Some("meningitis"),
    ),
    (
        "worried about meningitis, she's feverish with a blotchy rash and wont wake properly",
        Some("meningitis"),
    ),
    (
        "teenager with a fever and can't touch his chin to his chest",
        Some("meningitis"),
    ),
    (
        "spots that dont go white when i press them and hes burning up",
        Some("meningitis"),
    ),
    // ----- Emergencies: self-harm -----
    ("I want to end it all", Some("self_harm")),
    ("I don't want to be here anymore", Some("self_harm")),
    (
        "been thinking about killing myself every night",
        Some("self_harm"),
    ),
    (
        "i keep cutting myself and tonight its worse",
        Some("self_harm"),
    ),
    ("everyone would be better off without me", Some("self_harm")),
    (
        "I have the pills ready and I'm going to take my life tonight",
        Some("self_harm"),
    ),
    ("feel suicidal", Some("self_harm")),
    ("no point in living anymore", Some("self_harm")),
    // ----- Emergencies: severe bleeding -----
    (
        "bleeding wont stop soaking through towels",
        Some("severe_bleeding"),
    ),
    (
        "cut my hand on glass and blood is spurting out",
        Some("severe_bleeding"),
    ),
    ("Throwing up blood, quite a lot", Some("severe_bleeding")),
    (
        "nosebleed for 40 mins and it won't stop",
        Some("severe_bleeding"),
    ),
    (
        "my dad is on warfarin and bleeding heavily from a cut on his leg",
        Some("severe_bleeding"),
    ),
    (
        "I'm losing a lot of blood from a wound on my thigh",
        Some("severe_bleeding"),
    ),
    ("vomit looks like coffee grounds", Some("severe_bleeding")),
    // ----- Emergencies: seizure / collapse -----
    ("I had a seizure an hour ago", Some("seizure_collapse")),
    (
        "my son is having a fit and it's been going for 6 minutes",
        Some("seizure_collapse"),
    ),
    (
        "grandma collapsed in the kitchen and isn't responding",
        Some("seizure_collapse"),
    ),
    (
        "he passed out and we can't wake him",
        Some("seizure_collapse"),
    ),
    (
        "my wife is unconscious but breathing",
        Some("seizure_collapse"),
    ),
    (
        "friend is convulsing on the floor",
        Some("seizure_collapse"),
    ),
    (
        "just fainted at work and hit my head on the desk",
        Some("seizure_collapse"),
    ),
    (
        "my brother had a siezure and is still really out of it",
        Some("seizure_collapse"),
    ),
    // ----- Emergencies: poisoning / overdose -----
    ("I took 30 of my sleeping pills", Some("poisoning_overdose")),
    (
        "my toddler drank some bleach from under the sink",
        Some("poisoning_overdose"),
    ),
    (
        "took a whole packet of paracetamol about an hour ago",
        Some("poisoning_overdose"),
    ),
    (
        "my 2 year old swallowed a button battery",
        Some("poisoning_overdose"),
    ),
    (
        "I think my flatmate overdosed, he's really drowsy and his breathing is slow",
        Some("poisoning_overdose"),
    ),
    (
        "our carbon monoxide alarm went off and we all have headaches",
        Some("poisoning_overdose"),
    ),
    (
        "daughter got into my iron tablets, not sure how many she ate",
        Some("poisoning_overdose"),
    ),
    (
        "necked loads of co-codamol with vodka",
        Some("poisoning_overdose"),
    ),
    // ----- Emergencies: major trauma -----
    (
        "my brother was hit by a car on his bike",
        Some("major_trauma"),
    ),
    (
        "fell off a ladder and hit his head, now he's confused and being sick",
        Some("major_trauma"),
    ),
    ("he's been stabbed in the stomach", Some("major_trauma")),
    (
        "motorbike crash, her leg looks broken and the bone is sticking out",
        Some("major_trauma"),
    ),
    (
        "toddler pulled a kettle over and scalded his chest and face",
        Some("major_trauma"),
    ),
    (
        "my son banged his head playing rugby and has been vomiting and drowsy",
        Some("major_trauma"),
    ),
    (
        "mum fell down the stairs and can't move her legs",
        Some("major_trauma"),
    ),
    // ----- Emergencies: obstetric -----
    ("pregnant and heavy bleeding with pain", Some("obstetric")),
    (
        "33 weeks pregnant and baby hasn't moved all day",
        Some("obstetric"),
    ),
    (
        "I'm 8 weeks pregnant and have a sharp pain on one side and shoulder tip pain",
        Some("obstetric"),
    ),
    ("my waters broke and I'm only 30 weeks", Some("obstetric")),
    (
        "36 wks preg, bad headache and blurry vision and my face is swollen",
        Some("obstetric"),
    ),
    (
        "had my baby 4 days ago and I'm bleeding through a pad every hour with big clots",
        Some("obstetric"),
    ),
    (
        "I'm pregnant and I'm leaking fluid, not due for another 8 weeks",
        Some("obstetric"),
    ),
    (
        "pregnent and spotting with bad cramps low down",
        Some("obstetric"),
    ),
    // ----- Emergencies: paediatric danger -----
    (
        "baby is 6 weeks old and has a temp of 38.2",
        Some("paediatric_danger"),
    ),
    (
        "my 3 week old feels hot, 38.5 on the thermometer",
        Some("paediatric_danger"),
    ),
    (
        "newborn has a temperature, what do i do",
        Some("paediatric_danger"),
    ),
    (
        "My 2 month old is floppy and won't feed",
        Some("paediatric_danger"),
    ),
    ("baby has a fever", Some("paediatric_danger")),
    (
        "10 day old baby with a temperature of 100.6F",
        Some("paediatric_danger"),
    ),
    (
        "my 5 month old has a temp of 39.3",
        Some("paediatric_danger"),
    ),
    (
        "our little one is 7 weeks and very sleepy, not feeding, soft spot looks sunken",
        Some("paediatric_danger"),
    ),
    (
        "baby's temperature is 38 and she's only 9 weeks",
        Some("paediatric_danger"),
    ),
    // ----- Emergencies: second batch, all categories -----
    (
        "my husband says his chest feels like a tight band and he's gone pale and sweaty",
        Some("cardiac"),
    ),
    (
        "heart attack symptoms i think, pain spreading to my back and jaw",
        Some("cardiac"),
    ),
    (
        "sharp crushing feeling behind my breastbone since 10 minutes",
        Some("cardiac"),
    ),
    (
        "mum complaining her left arm is numb and she feels nauseous",
        Some("cardiac"),
    ),
    (
        "chest hurts so bad when i breathe in and i'm dizzy",
        Some("cardiac"),
    ),
    ("think im having a heart attack", Some("cardiac")),
    (
        "my chest hurts and my left arm feels heavy",
        Some("cardiac"),
    ),
    ("massive pressure in chest, cant breathe", Some("cardiac")),
    ("chest pains", Some("cardiac")),
    (
        "FAST test - his face is lopsided and he can't raise both arms",
        Some("stroke"),
    ),
    (
        "my wife suddenly can't find her words and her right hand is weak",
        Some("stroke"),
    ),
    (
        "grandpa's speech went weird about 15 minutes ago and now he's confused",
        Some("stroke"),
    ),
    (
        "I suddenly have double vision and my left leg feels numb",
        Some("stroke"),
    ),
    (
        "Dad woke up with one side of his face numb and slurred speech",
        Some("stroke"),
    ),
    ("thunderclap headache, then i threw up", Some("stroke")),
    (
        "my mums face has gone funny on one side and she's talking gibberish",
        Some("stroke"),
    ),
    (
        "he can't understand what I'm saying and his arm is limp",
        Some("stroke"),
    ),
    (
        "sudden severe headache and vomiting, neck hurts",
        Some("stroke"),
    ),
    ("can't move the right side of my body", Some("stroke")),
    ("woke up and half my face wont move", Some("stroke")),
    (
        "my asthma is really bad and the blue inhaler isn't working",
        Some("respiratory_distress"),
    ),
    (
        "hes breathing really fast and his lips look a bit blue",
        Some("respiratory_distress"),
    ),
    ("I literally cant get air in", Some("respiratory_distress")),
    (
        "toddler swallowed a grape and is choking",
        Some("respiratory_distress"),
    ),
    (
        "she keeps gasping and cant talk in full sentences",
        Some("respiratory_distress"),
    ),
    (
        "my sats are 89% and i'm breathless",
        Some("respiratory_distress"),
    ),
    (
        "im wheezing so bad i cant speak",
        Some("respiratory_distress"),
    ),
    (
        "my little boy is struggling to breath and making a grunting noise",
        Some("respiratory_distress"),
    ),
    (
        "he's gone blue around the lips",
        Some("respiratory_distress"),
    ),
    (
        "he's having difficulty breathing",
        Some("respiratory_distress"),
    ),
    ("can barely breathe", Some("respiratory_distress")),
    ("help, he's not breathing", Some("respiratory_distress")),
    (
        "Mum has a chest infection and now she's really confused and her temperature is 39.5",
        Some("sepsis"),
    ),
    (
        "I feel like I'm dying, I've got a fever and my legs look blotchy and blue",
        Some("sepsis"),
    ),
    (
        "my son had chemo last week, now has a temperature and is shivering uncontrollably",
        Some("sepsis"),
    ),
    (
        "high fever, haven't passed urine since yesterday and feel dreadful",
        Some("sepsis"),
    ),
    (
        "I feel awful, temp of 40, confused and my heart is pounding",
        Some("sepsis"),
    ),
    (
        "my elderly mum has a uti and is suddenly very confused and drowsy",
        Some("sepsis"),
    ),
    (
        "my tongue is swelling and my voice is going hoarse after eating sesame",
        Some("anaphylaxis"),
    ),
    (
        "stung by a wasp and now my throat is tight and I feel faint",
        Some("anaphylaxis"),
    ),
    (
        "kid ate something with peanuts, now wheezing and covered in hives",
        Some("anaphylaxis"),
    ),
    ("I had to use my epi pen 5 minutes ago", Some("anaphylaxis")),
    (
        "her lips have swelled up massively after the new meds",
        Some("anaphylaxis"),
    ),
    ("my throat is swelling shut", Some("anaphylaxis")),
    (
        "allergic reaction, struggling to swallow and breathe",
        Some("anaphylaxis"),
    ),
    (
        "my 10 year old has a fever, neck stiffness and hates the light",
        Some("meningitis"),
    ),
    (
        "rash of tiny purple pinpricks on his tummy and he's drowsy",
        Some("meningitis"),
    ),
    (
        "I think my student flatmate has meningitis, she's vomiting and has a rash",
        Some("meningitis"),
    ),
    (
        "my neck is rigid and I've got a high temp and headache",
        Some("meningitis"),
    ),
    (
        "my son's rash won't fade under a glass and he has a fever",
        Some("meningitis"),
    ),
    (
        "neck is so stiff i cant bend it and i have a fever",
        Some("meningitis"),
    ),
    ("i just want to die", Some("self_harm")),
    ("I've got a plan to kill myself tonight", Some("self_harm")),
    (
        "Can't cope anymore, thinking of taking all my tablets to end things",
        Some("self_harm"),
    ),
    (
        "my daughter told me she's been self harming and cut deep tonight",
        Some("self_harm"),
    ),
    (
        "I wish I could go to sleep and never wake up",
        Some("self_harm"),
    ),
    ("I'm going to kill myself", Some("self_harm")),
    ("i dont see the point in living", Some("self_harm")),
    ("my friend has been cutting her wrists", Some("self_harm")),
    (
        "bleeding heavily from a deep cut on my wrist after an accident with a knife",
        Some("severe_bleeding"),
    ),
    (
        "my dad is coughing up lots of blood",
        Some("severe_bleeding"),
    ),
    (
        "there's a pool of blood on the floor from his leg",
        Some("severe_bleeding"),
    ),
    (
        "my cut keeps bleeding through every bandage I put on",
        Some("severe_bleeding"),
    ),
    (
        "my dog bit my hand and it's bleeding a lot",
        Some("severe_bleeding"),
    ),
    (
        "blood pouring from his head after he fell",
        Some("severe_bleeding"),
    ),
    (
        "he had a fit and now he's not waking up properly",
        Some("seizure_collapse"),
    ),
    (
        "my nan fainted and hit the floor, she's groggy",
        Some("seizure_collapse"),
    ),
    (
        "my partner blacked out at the wheel just now",
        Some("seizure_collapse"),
    ),
    (
        "baby was jerking all over and her eyes rolled back",
        Some("seizure_collapse"),
    ),
    (
        "found my neighbour unconscious on the floor",
        Some("seizure_collapse"),
    ),
    ("pls help my dad just collapsed", Some("seizure_collapse")),
    (
        "my husband is having a seizure right now",
        Some("seizure_collapse"),
    ),
    ("she fainted and isn't waking up", Some("seizure_collapse")),
    (
        "I swallowed a load of my antidepressants an hour ago",
        Some("poisoning_overdose"),
    ),
    ("my kid ate a dishwasher tablet", Some("poisoning_overdose")),
    (
        "my friend took way too many pills at a party and is barely awake",
        Some("poisoning_overdose"),
    ),
    ("i've taken 20 paracetamol", Some("poisoning_overdose")),
    (
        "toddler might have eaten some of grandma's pills",
        Some("poisoning_overdose"),
    ),
    ("I took an overdose", Some("poisoning_overdose")),
    ("took about 15 ibuprofen", Some("poisoning_overdose")),
    (
        "my kid drank some of the bleach",
        Some("poisoning_overdose"),
    ),
    (
        "car crash on the motorway, my passenger is trapped and bleeding",
        Some("major_trauma"),
    ),
    (
        "my son fell from the top bunk bed onto his head and was knocked out",
        Some("major_trauma"),
    ),
    ("man got stabbed outside the shop", Some("major_trauma")),
    (
        "my colleague fell from scaffolding, about 4 metres",
        Some("major_trauma"),
    ),
    (
        "she hit her head on the concrete and is now very confused",
        Some("major_trauma"),
    ),
    ("she was knocked down by a van", Some("major_trauma")),
    ("fell off the roof, cant feel my legs", Some("major_trauma")),
    (
        "I'm 12 weeks pregnant and bleeding heavily",
        Some("obstetric"),
    ),
    (
        "28 weeks and I haven't felt the baby kick since yesterday",
        Some("obstetric"),
    ),
    (
        "gave birth last week and now I'm really short of breath",
        Some("obstetric"),
    ),
    (
        "pregnant, headache won't go, seeing flashing lights",
        Some("obstetric"),
    ),
    (
        "i'm 6 weeks pregnant with severe pain on my right side",
        Some("obstetric"),
    ),
    (
        "i am 30 weeks pregnant and have really bad stomach pain",
        Some("obstetric"),
    ),
    ("pregnant and bleeding", Some("obstetric")),
    (
        "my 4 week old has a temperature of 38",
        Some("paediatric_danger"),
    ),
    (
        "2 week old baby feels very hot and wont take her bottle",
        Some("paediatric_danger"),
    ),
    (
        "my newborn is really floppy and not feeding",
        Some("paediatric_danger"),
    ),
    (
        "baby has a high pitched cry and a bulging soft spot",
        Some("paediatric_danger"),
    ),
    ("my 8 week old son is burning up", Some("paediatric_danger")),
    (
        "infant with no wet nappies since this morning and very sleepy",
        Some("paediatric_danger"),
    ),
    (
        "baby born 3 weeks ago, now 38.4 temp",
        Some("paediatric_danger"),
    ),
    ("my 6 wk old has a temp", Some("paediatric_danger")),
    (
        "my baby is limp and won't wake up properly",
        Some("paediatric_danger"),
    ),
    (
        "my 7 week old daughter has a fever of 38.1",
        Some("paediatric_danger"),
    ),
    // ----- Non-emergencies: negation -----
    ("no chest pain, just a cough for a week", None),
    ("denies shortness of breath or chest pain", None),
    (
        "I don't have a headache or stiff neck, just a runny nose",
        None,
    ),
    (
        "cut my finger chopping onions, without any bleeding now",
        None,
    ),
    (
        "I'm not suicidal, I just feel a bit low after the breakup",
        None,
    ),
    ("no fever, rash or stiff neck, just tired", None),
    ("my baby has no temperature and is feeding well", None),
    (
        "she isn't having trouble breathing, it's just a blocked nose",
        None,
    ),
    ("never had a seizure but my sister has epilepsy", None),
    (
        "I'm pregnant and there's no bleeding or pain, just want to know about diet",
        None,
    ),
    ("I don't want to die, I'm scared of the surgery", None),
    ("the cut has stopped bleeding and looks clean", None),
    ("no blood in my vomit, just food", None),
    (
        "I haven't had any chest pain since I started the new tablets",
        None,
    ),
    (
        "there's no swelling of my lips or tongue, just an itchy arm",
        None,
    ),
    // ----- Non-emergencies: history -----
    ("I had a stroke in 2019", None),
    ("last year I had a heart attack", None),
    ("history of seizures, none recently", None),
    (
        "my mum had a stroke five years ago and I'm worried about my own risk",
        None,
    ),
    (
        "I had anaphylaxis to wasps as a child, should I carry an epipen?",
        None,
    ),
    (
        "had meningitis when I was 12, can it affect my hearing later?",
        None,
    ),
    (
        "I used to self harm as a teenager but I'm doing well now",
        None,
    ),
    (
        "Dad had a heart attack in 2015, what diet should he follow",
        None,
    ),
    ("I overdosed years ago and I'm in recovery now", None),
    (
        "I was in a car accident 10 years ago and still get back pain",
        None,
    ),
    (
        "my baby was born at 35 weeks and had jaundice, she's 4 months now",
        None,
    ),
    (
        "My grandad has had 3 strokes and lives in a care home, any tips for visiting?",
        None,
    ),
    (
        "my friend's dad had a heart attack last week, how can I support him?",
        None,
    ),
    ("I had a heart attack in 2018 and now I'm on statins", None),
    // ----- Non-emergencies: information questions -----
    ("what are the signs of a stroke?", None),
    ("how do I know if someone is having a heart attack?", None),
    ("can you explain anaphylaxis", None),
    ("What is sepsis and how is it treated?", None),
    ("how long does meningitis vaccine protection last", None),
    (
        "is it normal to feel short of breath when you have a cold?",
        None,
    ),
    ("What should I do if someone has a seizure?", None),
    ("Can anxiety cause chest tightness?", None),
    (
        "what's the difference between a heart attack and cardiac arrest",
        None,
    ),
    ("symptoms of an overdose of paracetamol?", None),
    (
        "I'm writing an essay about suicide prevention for school",
        None,
    ),
    ("If a baby has a temperature when should I worry?", None),
    ("how much paracetamol is an overdose for an adult?", None),
    (
        "tell me about the warning signs of a heart attack in women",
        None,
    ),
    ("what does a non blanching rash look like", None),
    ("Do babies get fevers when teething?", None),
    ("how do you treat a severe allergic reaction", None),
    ("I have a question about heart attacks and stress", None),
    // ----- Non-emergencies: idioms and figurative speech -----
    ("this traffic is killing me", None),
    ("I'm dying to see the new film", None),
    ("my heart skipped a beat when I saw him", None),
    ("what a breathtaking view from the top", None),
    ("I nearly had a heart attack when I saw the bill", None),
    ("my boss will give me a heart attack one day lol", None),
    ("I could kill myself laughing at that show", None),
    (
        "the suspense is killing me, when do my results come back",
        None,
    ),
    ("I nearly died of embarrassment at the clinic", None),
    ("drowning in paperwork this week", None),
    ("that film took my breath away", None),
    (
        "I almost fainted when I saw the price of the prescription",
        None,
    ),
    ("I'm dying for a cup of tea", None),
    ("I wanted to die of embarrassment when I tripped", None),
    // ----- Non-emergencies: medical words in harmless contexts -----
    ("can you help me understand my blood test results", None),
    ("my chest of drawers fell on my toe, it's bruised", None),
    ("blood pressure was 135/85 this morning, is that ok?", None),
    ("I'm a stroke survivor looking for exercise tips", None),
    ("got my flu jab today and my arm is sore", None),
    ("chest muscles sore after the gym", None),
    ("our septic tank smells awful, any health risk?", None),
    ("I need to book my baby's meningitis b jab", None),
    (
        "my back stroke technique is rubbish, shoulder aches after swimming",
        None,
    ),
    ("the fitting room lights gave me a headache", None),
    ("I cut myself shaving and it bled a bit", None),
    ("my phone app is not responding, can you help", None),
    ("Is a temperature of 37.8 a fever for an adult?", None),
    ("I'm 38 weeks pregnant and feeling fine, just tired", None),
    ("pregnant and craving ice, is that normal?", None),
    (
        "My 8 month old has a temperature of 38.4 but is playing and drinking well",
        None,
    ),
    ("my 4 week old's temperature is 36.9, is that normal?", None),
    (
        "my toddler has a temp of 38 and a runny nose but is running around",
        None,
    ),
    ("my 2 year old has a mild fever and is eating fine", None),
    ("I took two paracetamol for my headache", None),
    ("I take 20mg of citalopram every morning", None),
    ("can I take ibuprofen with a sprained ankle", None),
    ("my stomach hurts after eating too much at christmas", None),
    ("sore throat and swollen glands for 3 days", None),
    ("my eyes are puffy from hay fever", None),
    (
        "my nan has dementia and gets confused in the evenings",
        None,
    ),
    ("I have a stiff neck from sleeping funny", None),
    ("my son fell off his scooter and grazed his knee", None),
    (
        "I had a baby 6 months ago and my periods are back, is heavy bleeding normal?",
        None,
    ),
    ("I'm 20 weeks pregnant, can I eat soft cheese?", None),
    ("my 6 week old has a bit of a cough but no fever", None),
    ("sweating a lot at night during menopause", None),
    ("I feel sick after chemo", None),
    (
        "allergic to penicillin, what else can I take for tonsillitis?",
        None,
    ),
    (
        "I'm not pregnant but my period is late and I have cramps",
        None,
    ),
    (
        "My husband snores and stops breathing for a few seconds at night",
        None,
    ),
    (
        "the company is collapsing and the stress is giving me headaches",
        None,
    ),
    ("Can you overdose on vitamin D?", None),
    (
        "my son's rash fades when I press a glass on it, he seems fine",
        None,
    ),
    ("I'm allergic to cats and my eyes are itchy and puffy", None),
    ("I think I have food poisoning, been sick twice", None),
    ("my heart is racing because I drank too much coffee", None),
    (
        "I have a headache and a sore neck from looking at screens",
        None,
    ),
    ("my period is really heavy this month", None),
    (
        "she has asthma and uses her inhaler twice a day, is that ok",
        None,
    ),
    ("My daughter is 3 months old and has a cold, no fever", None),
    (
        "Got stung by a bee, just a red itchy lump, no swelling anywhere else",
        None,
    ),
    ("stabbing pain in my heel when I walk in the morning", None),
    (
        "my 3 year old has a temperature of 38.5 and is watching cartoons",
        None,
    ),
    (
        "I get a bit out of breath when I run for the bus, is that normal for my age?",
        None,
    ), // ----- Non-emergencies: second batch, mixed hard negatives -----
    (
        "no shortness of breath, no chest pain, just a sore ankle",
        None,
    ),
    (
        "I had a mini stroke 3 years ago, should I still take aspirin?",
        None,
    ),
    (
        "how can I tell if my headache is a migraine or something serious?",
        None,
    ),
    ("what is the recovery time after a heart attack?", None),
    ("I'm fine, no bleeding, the wound looks ok", None),
    ("he doesn't have a fever and is eating normally", None),
    ("my heart sank when the results came back", None),
    ("I'm dying to know if I passed my exam", None),
    ("can meningitis be passed on by kissing?", None),
    ("is it safe to take ibuprofen while pregnant?", None),
    (
        "I've had asthma since childhood, it's well controlled",
        None,
    ),
    ("what should I do if my child swallows a battery?", None),
    (
        "my mum has had epilepsy for years but she's been seizure free",
        None,
    ),
    ("the stress at work is killing me", None),
    (
        "my 7 month old has a slight temperature after her jabs",
        None,
    ),
    ("blood sugar 6.5 this morning", None),
    ("my tongue feels sore after eating pineapple", None),
    ("can you tell me about the signs of sepsis?", None),
    ("my face is a bit red after the sun", None),
    ("my son is teething and a bit grumpy", None),
    ("does paracetamol help with a fever?", None),
    ("i used to take overdoses in my twenties", None),
    (
        "I'm not having any thoughts of hurting myself, just stressed",
        None,
    ),
    ("bled a little after flossing", None),
    ("my grandad had a heart attack when I was young", None),
    ("Dr said my chest x ray was clear", None),
    ("I was choking back tears at the funeral", None),
    ("I'm pregnant and have mild heartburn", None),
    ("I'm allergic to nuts but haven't eaten any", None),
    ("period pain is bad this month, taking ibuprofen", None),
    ("my baby had a fever last month, all fine now", None),
    (
        "he fell asleep on the sofa with his head on my shoulder",
        None,
    ),
    ("my arm feels a bit numb after sleeping on it", None),
    ("my lips are dry and cracked", None),
    ("the breast stroke is my favourite", None),
    ("what's a normal oxygen level?", None),
    ("I have a headache after too much wine", None),
    ("my eyes are swollen from crying", None),
    ("my 15 year old daughter has period cramps", None),
    ("I don't have chest pain or breathing problems", None),
    ("no headache, no fever, no rash", None),
    ("What causes a stroke?", None),
    ("can anxiety make you feel like you can't breathe?", None),
    (
        "I'm worried about my risk of heart attack because of my family history",
        None,
    ),
    ("my son had a febrile seizure when he was 2", None),
    ("Is it normal for a newborn to sneeze a lot?", None),
    ("My baby's temperature is 37.2, she seems fine", None),
    ("I feel dead inside lately, work is so stressful", None),
    ("I took my usual tablets this morning", None),
    ("how many paracetamol can I take in a day?", None),
    ("lol that joke killed me", None),
    ("i'm so tired i could pass out haha", None),
    ("Do you know what the symptoms of anaphylaxis are?", None),
    ("i have a sore throat and feel a bit feverish", None),
    ("my ankle is swollen after football", None),
    ("pregnant, feeling a few kicks, all good", None),
    ("my blood results came back normal", None),
    ("the baby is sleeping well at 10 weeks", None),
    ("I'm 14 weeks pregnant, when is the next scan?", None),
    ("can stress cause heart palpitations?", None),
    ("my wound is healing well, no bleeding", None),
    (
        "I had sepsis two years ago and I'm still tired sometimes",
        None,
    ),
    ("we watched a documentary about strokes", None),
    ("My dad survived a cardiac arrest in 2016", None),
    ("how do I do CPR on an adult?", None),
    ("what happens if you swallow a button battery?", None),
    (
        "I'm diabetic, how do I manage my blood sugar when sick?",
        None,
    ),
    ("My friend said I looked like death warmed up", None),
    ("the cat brought in a dead bird", None),
    ("my daughter got her booster shot today", None),
    ("I've been coughing for a week but no fever", None),
    ("heavy legs after a long flight", None),
    ("What's the treatment for meningitis?", None),
    ("my 1 year old has a temp of 38.3 but is happy", None),
    ("my jaw aches from grinding my teeth", None),
    ("sweating when it's hot is normal right?", None),
    ("my period is heavy but no worse than usual", None),
    ("took an extra vitamin tablet by mistake", None),
    ("my head hurts after a long day at work", None),
];

/// Recall for one category.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryRecall {
    /// The labelled category.
    pub category: Category,
    /// Messages labelled with this category.
    pub total: usize,
    /// Of those, messages whose detection includes this category.
    pub detected: usize,
    /// `detected / total` (0 when there are none).
    pub recall: f64,
}

/// One evaluated message that went wrong.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalCase {
    /// The message text.
    pub text: String,
    /// The label (`None` for a non-emergency).
    pub expected: Option<Category>,
    /// Categories the detector raised.
    pub detected: Vec<Category>,
}

/// Figures from [`evaluate`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// Number of labelled messages.
    pub total: usize,
    /// Messages labelled as emergencies.
    pub emergencies: usize,
    /// Messages labelled as non-emergencies.
    pub non_emergencies: usize,
    /// Fraction of emergencies flagged as an emergency (any category).
    pub recall: f64,
    /// Fraction of emergencies whose labelled category was among those detected.
    pub category_recall: f64,
    /// Fraction of non-emergencies flagged as an emergency.
    pub false_alarm_rate: f64,
    /// Recall per labelled category, in [`Category::ALL`] order.
    pub per_category: Vec<CategoryRecall>,
    /// Emergencies not flagged at all.
    pub misses: Vec<EvalCase>,
    /// Emergencies flagged, but without the labelled category.
    pub wrong_category: Vec<EvalCase>,
    /// Non-emergencies that were flagged.
    pub false_alarms: Vec<EvalCase>,
    /// Labels that are not a known category name (should be empty).
    pub invalid_labels: Vec<String>,
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Runs [`detect`] over [`LABELLED`] and summarises the results.
pub fn evaluate() -> EvalReport {
    let mut emergencies = 0usize;
    let mut flagged = 0usize;
    let mut right_category = 0usize;
    let mut non_emergencies = 0usize;
    let mut false_alarm_count = 0usize;
    let mut totals = [0usize; 13];
    let mut hits = [0usize; 13];
    let mut misses = Vec::new();
    let mut wrong_category = Vec::new();
    let mut false_alarms = Vec::new();
    let mut invalid_labels = Vec::new();

    for &(text, label) in LABELLED {
        let detection = detect(text);
        let case = |expected: Option<Category>| EvalCase {
            text: text.to_string(),
            expected,
            detected: detection.categories.clone(),
        };
        match label {
            None => {
                non_emergencies += 1;
                if detection.is_emergency() {
                    false_alarm_count += 1;
                    false_alarms.push(case(None));
                }
            }
            Some(name) => {
                let Some(category) = Category::from_name(name) else {
                    invalid_labels.push(name.to_string());
                    continue;
                };
                let idx = Category::ALL
                    .iter()
                    .position(|c| *c == category)
                    .unwrap_or(0);
                emergencies += 1;
                totals[idx] += 1;
                if detection.is_emergency() {
                    flagged += 1;
                } else {
                    misses.push(case(Some(category)));
                }
                if detection.categories.contains(&category) {
                    right_category += 1;
                    hits[idx] += 1;
                } else if detection.is_emergency() {
                    wrong_category.push(case(Some(category)));
                }
            }
        }
    }

    let per_category = Category::ALL
        .iter()
        .enumerate()
        .map(|(i, &category)| CategoryRecall {
            category,
            total: totals[i],
            detected: hits[i],
            recall: ratio(hits[i], totals[i]),
        })
        .collect();

    EvalReport {
        total: LABELLED.len(),
        emergencies,
        non_emergencies,
        recall: ratio(flagged, emergencies),
        category_recall: ratio(right_category, emergencies),
        false_alarm_rate: ratio(false_alarm_count, non_emergencies),
        per_category,
        misses,
        wrong_category,
        false_alarms,
        invalid_labels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_shape() {
        assert!(
            LABELLED.len() >= 160,
            "only {} labelled messages",
            LABELLED.len()
        );
        let report = evaluate();
        assert!(
            report.invalid_labels.is_empty(),
            "{:?}",
            report.invalid_labels
        );
        assert!(report.emergencies * 10 >= report.total * 4);
        assert!(report.non_emergencies * 10 >= report.total * 4);
        for c in &report.per_category {
            assert!(
                c.total >= 5,
                "{:?} has only {} examples",
                c.category,
                c.total
            );
        }
    }

    #[test]
    fn detector_meets_targets() {
        let report = evaluate();
        let summary = serde_json::to_string_pretty(&report).unwrap_or_default();
        assert!(
            report.recall >= 0.99,
            "recall {}:\n{summary}",
            report.recall
        );
        assert!(
            report.false_alarm_rate <= 0.10,
            "false-alarm rate {}:\n{summary}",
            report.false_alarm_rate
        );
        assert!(
            report.category_recall >= 0.90,
            "category recall {}:\n{summary}",
            report.category_recall
        );
    }
}
