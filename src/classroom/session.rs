//! A whole classroom session in one DER Studio file: classes with their images, settings, the
//! last step's results and the trained model. The page saves it to IndexedDB after every change
//! and exports it as a `.derstudio` file; plain Rust, so every rule is tested natively.
//!
//! The model travels as an inner archive (written and read by the worker, which owns Burn); the
//! page checks everything else here before it replaces anything the user has.

use serde::{Deserialize, Serialize};

use crate::classroom::outcome::{Baseline, Comparison, StepOutcome};
use crate::classroom::studio::{MAX_NAME_CHARS, Studio};
use crate::engine::augment::Augment;
use crate::engine::metrics::AccuracyMatrix;
use crate::engine::{LearnerConfig, Sample};
use crate::format::archive::{Archive, ArchiveError, Entry};

const META: &str = "session.json";
const MODEL: &str = "model";
/// The archive entry of a baseline's learner (fine-tuning's keeps the name it had when it was
/// the only comparison).
fn baseline_entry(baseline: Baseline) -> &'static str {
    match baseline {
        Baseline::Finetune => "baseline",
        Baseline::Replay => "baseline-replay",
    }
}
/// What a session file is, so a model-only file is not mistaken for one.
const KIND: &str = "der-studio-session";
/// The version of `session.json`'s contents. 1: written before the field existed, with the
/// step's results defined by the worker's messages; 2: the results are the classroom's own
/// [`StepOutcome`] (`classroom::outcome`; the same JSON); 3: the comparison may hold replay
/// beside fine-tuning (`comparison`, `replay`, the `baseline-replay` entry) and the page's
/// augmentation choice. Bumped when the stored fields change.
pub const SESSION_VERSION: u32 = 3;

/// Everything the page needs to continue where the user left off.
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub studio: Studio,
    pub config: LearnerConfig,
    /// The last completed step's results (accuracy matrix, representation, memory).
    pub outcome: Option<StepOutcome>,
    /// Total parameters after each step: (with pruning, without).
    pub params_history: Vec<(usize, usize)>,
    /// The worker's saved learner, present once a step has been learned.
    pub model: Option<Vec<u8>>,
    /// Classes picked for the next step (so an interrupted step can be run again).
    pub selected: Vec<usize>,
    /// The baselines that learn beside DER, and their saved learners.
    pub comparison: Comparison,
    pub baselines: Vec<(Baseline, Vec<u8>)>,
    /// The augmentation the user chose; `None`: chosen by the images' source at each step.
    pub augmentation: Option<Augment>,
}

#[derive(Serialize, Deserialize)]
struct Meta {
    kind: String,
    /// Absent in version 1 files.
    #[serde(default = "first_version")]
    version: u32,
    /// The studio with its images moved to `samples/<class id>` entries.
    studio: Studio,
    config: LearnerConfig,
    outcome: Option<StepOutcome>,
    params_history: Vec<(usize, usize)>,
    #[serde(default)]
    selected: Vec<usize>,
    /// Versions 1–2: whether fine-tuning learned beside DER (the only comparison then).
    #[serde(default)]
    compare: bool,
    #[serde(default)]
    comparison: Option<Comparison>,
    #[serde(default)]
    augmentation: Option<Augment>,
}

fn first_version() -> u32 {
    1
}

impl Session {
    pub fn encode(&self) -> Vec<u8> {
        self.encode_with_studio(&self.studio)
    }

    /// Encodes this session with `studio` in place of its own: the page keeps its studio (which
    /// may hold thousands of images) in a signal and lends it here instead of copying it.
    pub fn encode_with_studio(&self, studio: &Studio) -> Vec<u8> {
        let (mut archive, images) = self.parts(studio, |_| true);
        archive.entries.extend(
            images
                .into_iter()
                .map(|(id, pixels)| Entry::bytes(format!("samples/{id}"), pixels)),
        );
        archive.encode()
    }

    /// The session in parts, as the browser keeps it: everything but the images (`meta`, small
    /// enough to write after every change), and the images of the classes `write` picks, one
    /// entry a class (only the classes that changed since the last save need writing).
    /// [`Self::decode_split`] reads them back.
    pub fn encode_split(
        &self,
        studio: &Studio,
        write: impl Fn(&crate::classroom::studio::ClassEntry) -> bool,
    ) -> (Vec<u8>, Vec<(usize, Vec<u8>)>) {
        let (meta, images) = self.parts(studio, write);
        (meta.encode(), images)
    }

    /// The archive of everything but the images, and the pixels of the classes `write` picks.
    fn parts(
        &self,
        studio: &Studio,
        write: impl Fn(&crate::classroom::studio::ClassEntry) -> bool,
    ) -> (Archive, Vec<(usize, Vec<u8>)>) {
        let mut images = Vec::new();
        for class in studio.classes.iter().filter(|c| write(c)) {
            let mut pixels = Vec::with_capacity(class.samples.iter().map(|s| s.pixels.len()).sum());
            for sample in &class.samples {
                pixels.extend_from_slice(&sample.pixels);
            }
            images.push((class.id, pixels));
        }
        let meta = Meta {
            kind: KIND.into(),
            version: SESSION_VERSION,
            studio: studio.without_samples(),
            config: self.config.clone(),
            outcome: self.outcome.clone(),
            params_history: self.params_history.clone(),
            selected: self.selected.clone(),
            compare: self.comparison.baselines().contains(&Baseline::Finetune),
            comparison: Some(self.comparison),
            augmentation: self.augmentation,
        };
        let mut archive = Archive::new();
        archive.push(Entry::json(
            META,
            serde_json::to_string(&meta).expect("plain data"),
        ));
        if let Some(model) = &self.model {
            archive.push(Entry::bytes(MODEL, model.clone()));
        }
        for (baseline, model) in &self.baselines {
            archive.push(Entry::bytes(baseline_entry(*baseline), model.clone()));
        }
        (archive, images)
    }

    /// Reads a session kept in parts ([`Self::encode_split`]): every class the meta lists must
    /// have its images.
    pub fn decode_split(
        meta: &[u8],
        images: impl IntoIterator<Item = (usize, Vec<u8>)>,
    ) -> Result<Self, ArchiveError> {
        let mut archive = Archive::decode(meta)?;
        for (id, pixels) in images {
            archive.push(Entry::bytes(format!("samples/{id}"), pixels));
        }
        Self::decode_archive(archive)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, ArchiveError> {
        Self::decode_archive(Archive::decode(bytes)?)
    }

    fn decode_archive(archive: Archive) -> Result<Self, ArchiveError> {
        let invalid = |reason: String| ArchiveError::Invalid(reason);
        if archive.get(META).is_none() && archive.get("learner.json").is_some() {
            return Err(invalid(
                "this is a model file, not a session: open a session (.derstudio) file".into(),
            ));
        }
        let meta: Meta = archive.parse(META)?;
        if meta.kind != KIND {
            return Err(invalid(format!(
                "it is a “{}” file, not a session",
                meta.kind
            )));
        }
        if meta.version > SESSION_VERSION {
            return Err(invalid(format!(
                "the session was saved by a newer DER Studio (session version {}; this one reads up to {SESSION_VERSION}): update the app to open it",
                meta.version
            )));
        }
        let mut studio = meta.studio;
        let size = studio.input_size;
        if !(4..=256).contains(&size) || studio.holdout_every < 2 {
            return Err(invalid(format!(
                "an image size of {size} pixels is not one DER Studio uses"
            )));
        }
        if size != meta.config.backbone.input_size {
            return Err(invalid(
                "the images and the model have different sizes".into(),
            ));
        }
        let per_sample = 3 * size * size;
        let mut ids = Vec::new();
        for class in &mut studio.classes {
            if ids.contains(&class.id) {
                return Err(invalid(format!(
                    "two classes share the number {}",
                    class.id
                )));
            }
            ids.push(class.id);
            let name = class.name.trim();
            if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
                return Err(invalid(format!(
                    "a class name is empty or longer than {MAX_NAME_CHARS} characters"
                )));
            }
            if !class.samples.is_empty() {
                return Err(invalid("images are stored outside the class list".into()));
            }
            let pixels = archive.bytes(&format!("samples/{}", class.id))?;
            if pixels.len() % per_sample != 0 {
                return Err(invalid(format!(
                    "the images of “{}” are not whole {size}×{size} images",
                    class.name
                )));
            }
            class.samples = pixels
                .chunks_exact(per_sample)
                .map(|p| Sample {
                    pixels: p.to_vec(),
                    label: class.id,
                })
                .collect();
        }
        let learned = studio.classes.iter().any(|c| c.learned_in_step.is_some());
        let model = match archive.bytes(MODEL) {
            Ok(model) => Some(model.to_vec()),
            Err(ArchiveError::Missing(_)) if !learned => None,
            Err(ArchiveError::Missing(_)) => {
                return Err(invalid(
                    "classes are marked learned but the model is missing".into(),
                ));
            }
            Err(e) => return Err(e),
        };
        if model.is_some() {
            // The inner model must at least be one of our files; the worker checks the rest.
            Archive::decode(model.as_deref().unwrap_or_default())?;
        }
        let mut baselines = Vec::new();
        for baseline in Baseline::ALL {
            match archive.bytes(baseline_entry(baseline)) {
                Ok(bytes) => {
                    Archive::decode(bytes)?;
                    baselines.push((baseline, bytes.to_vec()));
                }
                Err(ArchiveError::Missing(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let comparison = meta.comparison.unwrap_or(if meta.compare {
            Comparison::Finetune
        } else {
            Comparison::Off
        });
        Ok(Self {
            studio,
            config: meta.config,
            outcome: meta.outcome,
            params_history: meta.params_history,
            model,
            selected: meta
                .selected
                .into_iter()
                .filter(|id| ids.contains(id))
                .collect(),
            comparison,
            baselines,
            augmentation: meta.augmentation,
        })
    }

    /// The accuracy matrix so far (the worker continues it after a restore).
    pub fn accuracy(&self) -> AccuracyMatrix {
        self.outcome
            .as_ref()
            .map(|o| AccuracyMatrix {
                rows: o.accuracy_rows.clone(),
                seen: o.accuracy_seen.clone(),
            })
            .unwrap_or_default()
    }

    /// A baseline's accuracy matrix so far.
    pub fn baseline_accuracy(&self, baseline: Baseline) -> AccuracyMatrix {
        self.outcome
            .as_ref()
            .and_then(|o| o.baseline(baseline))
            .map(|b| AccuracyMatrix {
                rows: b.accuracy_rows.clone(),
                seen: b.accuracy_seen.clone(),
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        let mut studio = Studio::new(4);
        let cat = studio.add_class("Cat").unwrap();
        let dog = studio.add_class("Собака 🐕").unwrap();
        for i in 0..6u8 {
            studio.add_sample(cat, vec![i; 48]).unwrap();
            studio.add_sample(dog, vec![200 - i; 48]).unwrap();
        }
        let mut config = LearnerConfig::default();
        config.backbone.input_size = 4;
        Session {
            studio,
            config,
            outcome: None,
            params_history: vec![],
            model: None,
            selected: vec![1],
            comparison: Comparison::Both,
            baselines: Vec::new(),
            augmentation: Some(Augment::Shift),
        }
    }

    #[test]
    fn a_session_round_trips_with_its_images() {
        let s = session();
        let back = Session::decode(&s.encode()).unwrap();
        assert_eq!(back, s);
        let lent = Session {
            studio: Studio::new(4),
            ..s.clone()
        };
        assert_eq!(
            lent.encode_with_studio(&s.studio),
            s.encode(),
            "a lent studio encodes the same"
        );
        let mut with_model = s.clone();
        with_model.model = Some(Archive::new().encode());
        with_model.studio.mark_learned(&[0, 1], 0);
        with_model.params_history = vec![(100, 200)];
        let mut finetune = Archive::new();
        finetune.push(Entry::json(
            "learner.json",
            r#"{"method":"finetune"}"#.into(),
        ));
        let mut replay = Archive::new();
        replay.push(Entry::json("learner.json", r#"{"method":"replay"}"#.into()));
        with_model.baselines = vec![
            (Baseline::Finetune, finetune.encode()),
            (Baseline::Replay, replay.encode()),
        ];
        let back = Session::decode(&with_model.encode()).unwrap();
        assert_eq!(
            back, with_model,
            "both baselines come back, each with its own learner"
        );
        assert_eq!(back.comparison, Comparison::Both);
        assert_eq!(back.augmentation, Some(Augment::Shift));
    }

    #[test]
    fn a_session_kept_in_parts_reads_back_and_misses_no_class() {
        let s = session();
        let (meta, images) = s.encode_split(&s.studio, |_| true);
        assert_eq!(images.len(), 2);
        assert!(meta.len() < s.encode().len(), "the meta holds no images");
        assert_eq!(Session::decode_split(&meta, images.clone()).unwrap(), s);
        // Only the classes picked are encoded; the meta still lists every class.
        let (_, only_dog) = s.encode_split(&s.studio, |c| c.name.starts_with("Соба"));
        assert_eq!(
            only_dog.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
            vec![1]
        );
        let err = Session::decode_split(&meta, only_dog).unwrap_err();
        assert!(
            err.to_string().contains("samples/0"),
            "a class without its images is refused: {err}"
        );
    }

    #[test]
    fn inconsistent_sessions_are_refused_with_a_reason() {
        // Learned classes without a model.
        let mut s = session();
        s.studio.mark_learned(&[0], 0);
        let err = Session::decode(&s.encode()).unwrap_err();
        assert!(err.to_string().contains("model is missing"), "{err}");

        // Images cut mid-way.
        let s = session();
        let mut archive = Archive::decode(&s.encode()).unwrap();
        let entry = archive
            .entries
            .iter_mut()
            .find(|e| e.name == "samples/1")
            .unwrap();
        let crate::format::archive::Body::Bytes(bytes) = &mut entry.body else {
            panic!("bytes")
        };
        bytes.pop();
        let err = Session::decode(&archive.encode()).unwrap_err();
        assert!(err.to_string().contains("Собака"), "{err}");

        // A model file offered as a session.
        let mut model = Archive::new();
        model.push(Entry::json("learner.json", "{}".into()));
        assert!(
            Session::decode(&model.encode())
                .unwrap_err()
                .to_string()
                .contains("model file")
        );

        // Not ours at all.
        assert_eq!(
            Session::decode(b"PK\x03\x04 a zip file"),
            Err(ArchiveError::NotOurs)
        );
    }

    /// A session as version 1 wrote it (no `version`, the worker's `StepOutcome` as sent),
    /// written out literally so the old format stays pinned here whatever the types become.
    fn version_1_meta() -> String {
        let pixels = serde_json::to_string(&vec![7u8; 48]).unwrap();
        format!(
            r#"{{"kind":"der-studio-session",
            "studio":{{"input_size":4,"classes":[
                {{"id":0,"name":"Cat","samples":[],"learned_in_step":0}},
                {{"id":1,"name":"Dog","samples":[],"learned_in_step":0}},
                {{"id":2,"name":"Bird","samples":[],"learned_in_step":null}}],
              "next_id":3,"holdout_every":7}},
            "config":{{"method":"der","backbone":{{"input_size":4,"width":8,"stages":3,"blocks_per_stage":1}},
              "epochs":10,"batch_size":32,"learning_rate":0.05,"lambda_aux":1.0,"lambda_sparsity":0.1,"s_max":100.0,
              "memory_total":200,"memory_per_class":null,"relearn_epochs":30,"relearn_learning_rate":0.05,
              "temperature":5.0,"seed":1993}},
            "outcome":{{
              "summary":{{"step":0,"classes":[0,1],"params_before_prune":1000,"params_after_prune":600,
                "branch_params_before":900,"branch_params_after":500,"branch_macs_before":20000,
                "branch_macs_after":12000,"channels_before":[8,8],"channels_after":[5,6],
                "train_seconds":1.5,"epochs":10}},
              "accuracy_rows":[[0.9,0.8]],"accuracy_seen":[0.85],"average_incremental_accuracy":0.85,
              "forgetting":0.0,"class_order":[0,1],"confusion":[[9,1],[2,8]],
              "branches":[{{"kept":[5,6],"total":[8,8],"gate_names":["stem","stage 1"],"params":500,"frozen":false}}],
              "memory":[[0,[{{"pixels":{pixels},"label":0}}]]],
              "baseline":{{"accuracy_rows":[[0.7]],"accuracy_seen":[0.7],"average_incremental_accuracy":0.7,"forgetting":0.1}}}},
            "params_history":[[600,1000]],"selected":[2],"compare":true}}"#
        )
    }

    #[test]
    fn a_version_1_session_loads_with_its_steps_accuracies_and_model() {
        let mut model = Archive::new();
        model.push(Entry::json("learner.json", "{}".into()));
        let model = model.encode();
        let mut archive = Archive::new();
        archive.push(Entry::json(META, version_1_meta()));
        archive.push(Entry::bytes(MODEL, model.clone()));
        for id in 0..3u8 {
            archive.push(Entry::bytes(format!("samples/{id}"), vec![id; 48 * 5]));
        }
        let session = Session::decode(&archive.encode()).unwrap();

        assert_eq!(
            session.model.as_deref(),
            Some(model.as_slice()),
            "the model comes back byte for byte"
        );
        assert_eq!(session.studio.classes.len(), 3);
        assert_eq!(session.studio.classes[1].samples.len(), 5);
        assert_eq!(session.config.backbone.width, 8);
        assert_eq!(session.params_history, vec![(600, 1000)]);
        assert_eq!(session.selected, vec![2]);
        assert_eq!(
            session.comparison,
            Comparison::Finetune,
            "the old switch meant fine-tuning"
        );
        assert_eq!(
            session.augmentation, None,
            "chosen by the images, as before the setting existed"
        );
        let outcome = session.outcome.as_ref().expect("the outcome");
        assert_eq!(outcome.summary.classes, vec![0, 1]);
        assert_eq!(outcome.summary.channels_after, vec![5, 6]);
        assert_eq!(outcome.branches[0].gate_names, vec!["stem", "stage 1"]);
        assert_eq!(outcome.memory[0].1[0].pixels, vec![7u8; 48]);
        assert_eq!(
            session.accuracy(),
            AccuracyMatrix {
                rows: vec![vec![0.9, 0.8]],
                seen: vec![0.85]
            }
        );
        assert_eq!(
            session.baseline_accuracy(Baseline::Finetune),
            AccuracyMatrix {
                rows: vec![vec![0.7]],
                seen: vec![0.7]
            }
        );
        assert_eq!(
            session.baseline_accuracy(Baseline::Replay),
            AccuracyMatrix::default()
        );

        // Saved again, it is a current session that reads back the same.
        let again = session.encode();
        let meta: Meta = Archive::decode(&again).unwrap().parse(META).unwrap();
        assert_eq!(meta.version, SESSION_VERSION);
        assert_eq!(Session::decode(&again).unwrap(), session);
    }

    #[test]
    fn a_session_from_a_newer_version_is_refused_with_a_reason() {
        let meta = version_1_meta().replacen(
            "{\"kind\":\"der-studio-session\",",
            "{\"kind\":\"der-studio-session\",\"version\":99,",
            1,
        );
        let mut archive = Archive::new();
        archive.push(Entry::json(META, meta));
        let err = Session::decode(&archive.encode()).unwrap_err();
        assert!(err.to_string().contains("newer DER Studio"), "{err}");
    }
}
