/**
 * Generated multi-session conversations for the retrieval benchmark (seeded, so every run builds the same data).
 *
 * Each conversation is between two people over many sessions. Most turns are small talk that mentions the other
 * person's name and everyday words; some are near-misses that share the topic words of a fact without stating it;
 * a few are the facts themselves (the evidence), said in the first person. Every turn is stored verbatim as
 * "Name: text", as memories written with `infer=false` are. Questions ask about a fact in the third person with
 * other words and other word forms than the evidence (possessives, "adopted"/"adopting", "dog"/"puppy"), full of
 * stopwords, the way people ask; the answer value never appears in the question.
 * @module
 */
import { seededRandom } from '../../tests/helpers/random.js';

export interface Turn {
  id: number;
  conversation: number;
  text: string;
}

export interface Question {
  conversation: number;
  text: string;
  /** Ids of the turns that answer it. */
  evidence: number[];
}

export interface Dataset {
  turns: Turn[];
  questions: Question[];
}

const NAMES = ['Jon', 'Maria', 'Caroline', 'Melanie', 'Gina', 'Andrew', 'Tim', 'Audrey', 'Nate', 'Joanna', 'Deborah', 'Evan', 'Sam', 'Priya', 'Lucas', 'Hana', 'Omar', 'Elena', 'Kofi', 'Mei'];

/** A fact: what the speaker says (evidence), the questions that ask for it, and near-miss turns on its topic. */
interface FactTemplate {
  say: string[];
  ask: string[];
  near: string[];
  values: string[];
}

// {v} the value, {n} the speaker's name, {o} the other person's name.
const FACTS: FactTemplate[] = [
  {
    say: ['I finally adopted a puppy last week, his name is {v}!', 'Guess what, we adopted a little puppy and named him {v}.'],
    ask: ["What is the name of {n}'s dog?", 'What did {n} name the puppy they adopted?', "What's {n}'s new dog called?", 'When {n} was adopting a dog, what name did they choose?'],
    near: ["My neighbour's dog barks all night, it drives me crazy.", 'I have been thinking about getting a pet someday.', 'Dogs at the park always make me smile.'],
    values: ['Biscuit', 'Pepper', 'Rocky', 'Maple', 'Nugget', 'Bruno', 'Luna', 'Ziggy', 'Waffles', 'Scout'],
  },
  {
    say: ['I just moved to {v} for my new job, the apartment is tiny but I love it.', 'Big news: I relocated to {v} last month.'],
    ask: ['Which city did {n} move to?', 'Where does {n} live now after moving?', "What city is {n}'s new apartment in?", 'Where did {n} relocate for work?'],
    near: ['Moving boxes everywhere, I swear I will never move again.', 'The city is so loud at night.', 'My cousin lives in a small apartment too.'],
    values: ['Lisbon', 'Denver', 'Osaka', 'Toronto', 'Nairobi', 'Krakow', 'Austin', 'Melbourne', 'Bergen', 'Valencia'],
  },
  {
    say: ['I started taking {v} lessons every Tuesday evening.', "I've been learning to play the {v}, my teacher is very patient."],
    ask: ['What instrument is {n} learning?', 'Which instrument does {n} take lessons for?', 'What is {n} learning to play?'],
    near: ['Music always helps me relax after a long day.', 'I went to a concert with friends, the band was great.', 'My teacher at school was very strict.'],
    values: ['cello', 'violin', 'piano', 'ukulele', 'saxophone', 'drums', 'flute', 'banjo', 'harp', 'trumpet'],
  },
  {
    say: ['I ran my first {v} on Sunday, my legs still hurt!', 'Training paid off, I finished the {v} in under four hours.'],
    ask: ['What race did {n} run?', 'Which running event did {n} finish?', 'What did {n} complete after all that training?'],
    near: ['Running in the rain is not my favourite thing.', 'My legs hurt after the gym yesterday.', 'I should start training again, I feel lazy.'],
    values: ['marathon', 'half marathon', 'triathlon', 'ultramarathon', 'trail race', '10K', 'relay race', 'duathlon', 'obstacle race', 'charity run'],
  },
  {
    say: ['My sister {v} is getting married in June.', 'I will be the maid of honor when {v}, my sister, gets married.'],
    ask: ["What is the name of {n}'s sister?", "Whose wedding is {n} attending in June?", 'Who in {n}\'s family is getting married?'],
    near: ['Weddings are so expensive these days.', 'June is my favourite month of the year.', 'My family is planning a big reunion.'],
    values: ['Clara', 'Ines', 'Rosa', 'Nadia', 'Lily', 'Sofia', 'Amara', 'Greta', 'Yuki', 'Beatriz'],
  },
  {
    say: ['I work as a {v} now, the shifts are long but rewarding.', 'I got hired as a {v} at the downtown office.'],
    ask: ["What is {n}'s job?", 'What does {n} work as?', 'What position was {n} hired for?', 'What kind of work does {n} do?'],
    near: ['Long shifts make me so tired.', 'The downtown office has a great coffee shop nearby.', 'Work has been stressful lately.'],
    values: ['nurse', 'paramedic', 'architect', 'data analyst', 'pastry chef', 'paralegal', 'pharmacist', 'carpenter', 'translator', 'pilot'],
  },
  {
    say: ['I am allergic to {v}, I found out the hard way.', 'Turns out I have a {v} allergy, no more of that for me.'],
    ask: ['What is {n} allergic to?', 'Which food allergy does {n} have?', 'What can {n} not eat because of an allergy?'],
    near: ['The restaurant menu had nothing I could eat.', 'Spring always brings my hay fever back.', 'I found out my favourite cafe closed.'],
    values: ['peanuts', 'shellfish', 'strawberries', 'sesame', 'kiwi', 'walnuts', 'eggs', 'soy', 'mustard', 'celery'],
  },
  {
    say: ['I painted a {v} for the art show, it took me three months.', 'My painting of a {v} got accepted to the local gallery!'],
    ask: ['What did {n} paint for the art show?', "What was the subject of {n}'s painting?", 'Which painting of {n} was accepted by the gallery?'],
    near: ['I love visiting art galleries on weekends.', 'Three months went by so fast.', 'The local show had so many people.'],
    values: ['lighthouse', 'sunflower field', 'fox', 'mountain lake', 'harbor at dusk', 'old bicycle', 'owl', 'rainy street', 'waterfall', 'lemon tree'],
  },
  {
    say: ['We booked a trip to {v} for our anniversary.', 'For our anniversary we are flying to {v}!'],
    ask: ["Where is {n} going for the anniversary?", 'Which destination did {n} book for their anniversary trip?', 'Where will {n} travel to celebrate the anniversary?'],
    near: ['Booking flights is always so stressful.', 'Our anniversary dinner last year was lovely.', 'I want to travel more next year.'],
    values: ['Iceland', 'Kyoto', 'Patagonia', 'Morocco', 'Santorini', 'Bali', 'Scotland', 'Peru', 'Vietnam', 'Norway'],
  },
  {
    say: ['I have been volunteering at the {v} on Saturdays.', 'Every Saturday I volunteer at the {v}, it means a lot to me.'],
    ask: ['Where does {n} volunteer?', 'What organization does {n} volunteer for on Saturdays?', 'Where does {n} spend Saturdays volunteering?'],
    near: ['Saturdays are for sleeping in.', 'I should do something meaningful with my free time.', 'The community center is closed for repairs.'],
    values: ['animal shelter', 'food bank', 'children\'s hospital', 'library', 'homeless shelter', 'botanical garden', 'senior center', 'wildlife rescue', 'soup kitchen', 'youth club'],
  },
  {
    say: ['I am reading {v} right now and I cannot put it down.', 'My book club picked {v} this month, I love it.'],
    ask: ['What book is {n} reading?', "Which book did {n}'s book club choose?", 'What novel can {n} not put down?'],
    near: ['I never have time to read anymore.', 'The library near me has a great collection.', 'My book club meets every other week.'],
    values: ['Dune', 'Beloved', 'Middlemarch', 'The Hobbit', 'Circe', 'Rebecca', 'Emma', 'Ulysses', 'Frankenstein', 'Persuasion'],
  },
  {
    say: ['I bought a {v} so I can commute without the bus.', 'My new {v} arrived yesterday, commuting is so much easier.'],
    ask: ['What did {n} buy for commuting?', 'How does {n} commute now?', 'What vehicle did {n} get?'],
    near: ['The bus was late again this morning.', 'Traffic is terrible on Mondays.', 'I bought groceries on the way home.'],
    values: ['e-bike', 'scooter', 'used car', 'motorbike', 'folding bike', 'electric car', 'road bike', 'cargo bike', 'moped', 'hybrid car'],
  },
  {
    say: ['I grew up in {v}, a small town by the coast.', 'Back in {v}, where I grew up, everyone knew each other.'],
    ask: ['Where did {n} grow up?', "What is {n}'s hometown?", 'Which town is {n} originally from?'],
    near: ['Small towns can feel so quiet.', 'I miss the coast sometimes.', 'Everyone knew each other at my old school.'],
    values: ['Porto', 'Galway', 'Hilo', 'Tromso', 'Split', 'Cobh', 'Nazare', 'Hoi An', 'Whitby', 'Essaouira'],
  },
  {
    say: ['I signed up for a {v} class at the community center.', 'Started a {v} course, the instructor is amazing.'],
    ask: ['What class did {n} sign up for?', 'Which course is {n} taking at the community center?', 'What is {n} studying with that instructor?'],
    near: ['The community center has a new cafe.', 'Classes start again in September.', 'My instructor at the gym is very strict.'],
    values: ['pottery', 'salsa', 'photography', 'woodworking', 'Spanish', 'yoga', 'sign language', 'calligraphy', 'coding', 'cooking'],
  },
  {
    say: ['My favourite food is {v}, I could eat it every day.', 'Nothing beats {v}, honestly my favourite dish ever.'],
    ask: ["What is {n}'s favorite food?", 'Which dish does {n} love the most?', 'What could {n} eat every day?'],
    near: ['I cooked dinner for friends yesterday.', 'Eating out every day gets expensive.', 'That new restaurant was disappointing.'],
    values: ['ramen', 'paella', 'lasagna', 'pho', 'tacos', 'sushi', 'biryani', 'pierogi', 'moussaka', 'falafel'],
  },
];

const SMALL_TALK = [
  'Hey {o}, how have you been?', 'That sounds great, {o}!', 'I am so happy for you, {o}.', 'How was your week?',
  'Haha, that is so true.', 'What did you do over the weekend?', 'I did not do much, just relaxed at home.',
  'Thanks for asking, {o}, I am doing well.', 'Let me know how it goes!', 'That must have been hard.',
  'I totally understand how you feel.', 'We should catch up in person soon.', 'Did you see the news today?',
  'The weather has been so nice lately.', 'I am a bit tired today, long day at work.', 'Good luck, {o}, you will do great!',
  'That is amazing news!', 'Take care of yourself, {o}.', 'I have been so busy with everything.', 'What are your plans for the holidays?',
  'I tried a new recipe last night.', 'My phone keeps dying, I need a new one.', 'Talk to you later!', 'Sounds like fun.',
];

export interface DatasetOptions {
  conversations: number;
  sessions: number;
  turnsPerSession: number;
  /** Facts per speaker. */
  facts: number;
  seed: number;
}

export function generate(o: DatasetOptions): Dataset {
  const random = seededRandom(o.seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const turns: Turn[] = [];
  const questions: Question[] = [];
  for (let c = 0; c < o.conversations; c++) {
    const a = NAMES[(2 * c) % NAMES.length]!;
    const b = NAMES[(2 * c + 1) % NAMES.length]!;
    // Each speaker gets `facts` distinct fact templates, each with its own value, said in a random session.
    const planned: Array<{ speaker: string; other: string; template: FactTemplate; value: string; session: number }> = [];
    for (const [speaker, other] of [[a, b], [b, a]] as const) {
      const templates = [...FACTS].sort(() => random() - 0.5).slice(0, o.facts);
      for (const template of templates) planned.push({ speaker, other, template, value: pick(template.values), session: Math.floor(random() * o.sessions) });
    }
    for (let s = 0; s < o.sessions; s++) {
      const lines: Array<{ speaker: string; text: string; fact?: (typeof planned)[number] }> = [];
      for (let t = 0; t < o.turnsPerSession; t++) {
        const speaker = t % 2 === 0 ? a : b;
        const other = speaker === a ? b : a;
        // One turn in five is a near miss on some fact's topic; the rest is small talk.
        const text = random() < 0.2 ? pick(pick(FACTS).near) : pick(SMALL_TALK).replace('{o}', other);
        lines.push({ speaker, text });
      }
      for (const fact of planned.filter((f) => f.session === s)) {
        const at = Math.floor(random() * (lines.length + 1));
        lines.splice(at, 0, { speaker: fact.speaker, text: pick(fact.template.say).replace('{v}', fact.value), fact });
      }
      for (const line of lines) {
        const id = turns.length;
        turns.push({ id, conversation: c, text: `${line.speaker}: ${line.text}` });
        if (line.fact) {
          for (const ask of line.fact.template.ask) {
            questions.push({ conversation: c, text: ask.replaceAll('{n}', line.fact.speaker).replace('{o}', line.fact.other), evidence: [id] });
          }
        }
      }
    }
  }
  return { turns, questions };
}
