//! The PACS window's model: the node and login, the search form, the
//! matches, a study being retrieved into the cache and the patient's other
//! studies (priors). Every exchange with the peer runs on a background
//! thread (a promise for searches and echoes, a channel for a retrieval);
//! the UI only polls them once per frame.
//!
//! The password is held in memory for this run only: it is never written
//! to the settings, the node file or a log (DESIGN invariant 34). It may
//! also come from `HILUM_PACS_PASSWORD`, as for the command line.

mod rows;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use poll_promise::Promise;

use crate::net::cache::StudyCache;
use crate::net::node::{NodeBook, SavedNode};
use crate::net::session::Login;
use crate::net::store::instance_files;
use crate::net::{Level, QueryKeys, Row, Secret, Session};

pub use self::rows::{DateFilter, field, sort_rows};

/// How long one exchange may wait for the peer.
const TIMEOUT: Duration = Duration::from_secs(30);

/// What a retrieval thread reports.
#[derive(Debug)]
pub enum RetrievalEvent {
    /// One instance arrived (in the cache).
    Stored {
        /// Its file.
        path: PathBuf,
        /// Instances received and expected so far.
        received: usize,
        /// Expected, when known.
        expected: Option<usize>,
        /// The series being retrieved and how many there are.
        series: Option<(usize, usize)>,
    },
    /// The retrieval ended: the study's instances (listed on the
    /// retrieval thread: the UI thread never reads a folder), or why not.
    Done(Result<Vec<PathBuf>, String>),
}

/// A study being retrieved.
#[derive(Debug)]
pub struct Retrieval {
    /// Its Study Instance UID.
    pub study_uid: String,
    /// How the window names it.
    pub label: String,
    /// Shown beside the current study (a prior) rather than in place.
    pub beside: bool,
    /// Instances received so far (this run).
    pub received: usize,
    /// Instances expected (of the current series for DICOMweb).
    pub expected: Option<usize>,
    /// Instances received of the current series (DICOMweb).
    pub in_series: usize,
    /// The series being retrieved and how many there are (DICOMweb).
    pub series: Option<(usize, usize)>,
    /// The outcome, once ended.
    pub outcome: Option<Result<(), String>>,
    events: Receiver<RetrievalEvent>,
    sent: HashSet<PathBuf>,
}

/// Files to load that a poll found, and where to show them.
#[derive(Debug, Default)]
pub struct Arrived {
    /// New files.
    pub paths: Vec<PathBuf>,
    /// Show them beside the current study.
    pub beside: bool,
    /// The study they belong to.
    pub study_uid: String,
    /// They are the study's first: put it on screen once loaded (later
    /// ones must not move the reader away from where they are).
    pub first: bool,
}

type Answer<T> = Promise<Result<T, String>>;

/// The PACS window.
#[derive(Default)]
pub struct PacsPanel {
    /// Whether the window is shown.
    pub open: bool,
    /// A saved node's name or a URL.
    pub node: String,
    /// Hilum's AE title for DIMSE nodes (empty: the node's, else HILUM).
    pub aet: String,
    /// The user name.
    pub user: String,
    /// The password: in memory for this run only.
    pub password: String,
    /// A PEM file of CA certificates to trust besides the system's
    /// (HTTPS nodes; empty: the saved node's, if any).
    pub ca_file: String,
    /// Patient's Name pattern.
    pub patient_name: String,
    /// Patient ID.
    pub patient_id: String,
    /// Accession Number.
    pub accession: String,
    /// Modality.
    pub modality: String,
    /// The study date filter.
    pub dates: DateFilter,
    /// The custom date range (YYYYMMDD-YYYYMMDD).
    pub custom_dates: String,
    /// The matches of the last search.
    pub results: Vec<Row>,
    /// The column the matches are sorted by, and whether ascending.
    pub sort: (String, bool),
    /// The other studies of the patient of the study opened last.
    pub priors: Vec<Row>,
    /// The last message (an echo's time, an error).
    pub status: Option<String>,
    /// The retrieval running or last ended.
    pub retrieval: Option<Retrieval>,
    /// The saved nodes (name, node), read off the UI thread.
    pub saved: Vec<(String, SavedNode)>,
    /// The name to save the current node under.
    pub save_name: String,
    /// Exported files waiting for a node to be sent to.
    pub outbox: Vec<PathBuf>,
    search: Option<Answer<Vec<Row>>>,
    priors_search: Option<(String, Answer<Vec<Row>>)>,
    echo: Option<Answer<Duration>>,
    book: Option<Answer<NodeBook>>,
    sending: Option<Answer<String>>,
    clearing: Option<Answer<usize>>,
    cache: Option<StudyCache>,
    nodes_file: Option<PathBuf>,
}

impl PacsPanel {
    /// A panel retrieving into `cache` (the data folder's by default).
    pub fn with_cache(mut self, cache: StudyCache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// A panel keeping its saved nodes in `path` (the data folder's
    /// `pacs-nodes.toml` by default).
    pub fn with_nodes_file(mut self, path: PathBuf) -> Self {
        self.nodes_file = Some(path);
        self
    }

    /// Whether a search, echo, send or node file read is running.
    pub fn busy(&self) -> bool {
        self.search.is_some()
            || self.echo.is_some()
            || self.priors_search.is_some()
            || self.book.is_some()
            || self.sending.is_some()
            || self.clearing.is_some()
    }

    /// Empties the study cache in the background (not while a retrieval
    /// writes into it).
    pub fn clear_cache(&mut self, wake: impl Fn() + Send + 'static) {
        if self.retrieving() {
            self.status =
                Some("The cache cannot be cleared while a study is being retrieved".into());
            return;
        }
        let Some(cache) = self.cache.clone().or_else(StudyCache::default_location) else {
            self.status = Some("no data folder for the study cache (set HILUM_DATA_DIR)".into());
            return;
        };
        self.clearing = Some(Promise::spawn_thread("pacs clear cache", move || {
            let cleared = cache.clear();
            wake();
            cleared
        }));
    }

    /// Reads the saved nodes in the background (once per opening).
    pub fn load_saved(&mut self, wake: impl Fn() + Send + 'static) {
        if self.book.is_some() {
            return;
        }
        let file = self.nodes_file.clone();
        self.book = Some(Promise::spawn_thread("pacs nodes", move || {
            let book = read_book(file.as_deref());
            wake();
            book
        }));
    }

    /// Saves the current node under `save_name` (off the UI thread).
    pub fn save_node(&mut self, wake: impl Fn() + Send + 'static) {
        let name = self.save_name.trim().to_string();
        let node = SavedNode {
            url: self.node.trim().to_string(),
            user: Some(self.user.trim().to_string()).filter(|u| !u.is_empty()),
            aet: Some(self.aet.trim().to_string()).filter(|a| !a.is_empty()),
            ca_file: Some(PathBuf::from(self.ca_file.trim())).filter(|p| !p.as_os_str().is_empty()),
        };
        let file = self.nodes_file.clone();
        self.book = Some(Promise::spawn_thread("pacs save node", move || {
            let mut book = read_book(file.as_deref())?;
            let saved = book
                .save_node(&name, node)
                .map(|()| book)
                .map_err(|e| e.to_string());
            wake();
            saved
        }));
    }

    /// Picks saved node `index`: its name, user and AE title fill the form.
    pub fn pick(&mut self, index: usize) {
        if let Some((name, node)) = self.saved.get(index) {
            self.node = name.clone();
            self.user = node.user.clone().unwrap_or_default();
            self.aet = node.aet.clone().unwrap_or_default();
            self.ca_file = node
                .ca_file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            self.save_name = name.clone();
        }
    }

    /// Sends exported files to the node (STOW-RS or C-STORE) in the
    /// background; with no node chosen yet they wait in the outbox and the
    /// window opens to choose one.
    pub fn send(&mut self, paths: Vec<PathBuf>, wake: impl Fn() + Send + 'static) {
        self.open = true;
        if self.node.trim().is_empty() {
            self.outbox = paths;
            self.status = Some(format!(
                "Choose a node, then send the {} exported file(s)",
                self.outbox.len()
            ));
            return;
        }
        self.outbox.clear();
        let login = self.login();
        self.status = Some(format!("Sending {} file(s)…", paths.len()));
        self.sending = Some(Promise::spawn_thread("pacs send", move || {
            let session = session(&login)?;
            let mut failures = Vec::new();
            session
                .send(&paths, &mut |path, outcome| {
                    if let Err(why) = outcome {
                        failures.push(format!("{}: {why}", path.display()));
                    }
                })
                .map_err(|e| e.to_string())?;
            wake();
            if failures.is_empty() {
                Ok(format!(
                    "Sent {} file(s) to {}",
                    paths.len(),
                    session.label()
                ))
            } else {
                Err(format!(
                    "{} of {} file(s) not stored: {}",
                    failures.len(),
                    paths.len(),
                    failures.join("; ")
                ))
            }
        }));
    }

    /// Whether a retrieval is running.
    pub fn retrieving(&self) -> bool {
        self.retrieval.as_ref().is_some_and(|r| r.outcome.is_none())
    }

    /// The node and login as typed, to build a session from on a
    /// background thread (reading the saved nodes and the CA roots touches
    /// the disk, which the UI thread never does).
    fn login(&self) -> Login {
        let text = |t: &str| Some(t.trim().to_string()).filter(|t| !t.is_empty());
        Login {
            node: self.node.trim().to_string(),
            aet: text(&self.aet),
            user: text(&self.user),
            password: Some(self.password.clone())
                .filter(|p| !p.is_empty())
                .map(Secret::new),
            ca_file: text(&self.ca_file).map(PathBuf::from),
            nodes_file: self.nodes_file.clone(),
            timeout: TIMEOUT,
        }
    }

    /// The search keys of the form at study level, dated against `today`.
    pub fn keys(&self, today: chrono::NaiveDate) -> QueryKeys {
        let text = |t: &String| Some(t.trim().to_string()).filter(|t| !t.is_empty());
        QueryKeys {
            level: Level::Study,
            patient_name: text(&self.patient_name),
            patient_id: text(&self.patient_id),
            accession: text(&self.accession),
            modality: text(&self.modality),
            date: self.dates.range(today, &self.custom_dates),
            ..Default::default()
        }
    }

    /// Checks the node with an echo, in the background.
    pub fn echo(&mut self, wake: impl Fn() + Send + 'static) {
        let login = self.login();
        self.status = Some("Checking the node…".into());
        self.echo = Some(Promise::spawn_thread("pacs echo", move || {
            let answer = session(&login).and_then(|s| s.echo().map_err(|e| e.to_string()));
            wake();
            answer
        }));
    }

    /// Searches with the form's keys, in the background.
    pub fn search(&mut self, wake: impl Fn() + Send + 'static) {
        let keys = self.keys(chrono::Local::now().date_naive());
        if let Err(why) = keys.validate() {
            self.status = Some(why);
            return;
        }
        let login = self.login();
        self.status = Some("Searching…".into());
        self.search = Some(Promise::spawn_thread("pacs search", move || {
            let answer = session(&login).and_then(|s| s.find(&keys).map_err(|e| e.to_string()));
            wake();
            answer
        }));
    }

    /// Starts retrieving the study of `row` into the cache; its instances
    /// are handed to the viewer as they arrive. `beside`: show it next to
    /// the current study (a prior).
    pub fn open(&mut self, row: &Row, beside: bool, wake: impl Fn() + Send + Sync + 'static) {
        let Some(study_uid) = field(row, "StudyInstanceUID") else {
            self.status = Some("this match has no Study Instance UID".into());
            return;
        };
        let Some(cache) = self.cache.clone().or_else(StudyCache::default_location) else {
            self.status = Some("no data folder for the study cache (set HILUM_DATA_DIR)".into());
            return;
        };
        let login = self.login();
        let label = [
            field(row, "PatientName"),
            field(row, "StudyDate"),
            field(row, "StudyDescription"),
        ]
        .into_iter()
        .flatten()
        .map(|t| t.replace('^', " "))
        .collect::<Vec<_>>()
        .join(" · ");
        let (tx, rx) = channel();
        let uid = study_uid.clone();
        std::thread::Builder::new()
            .name("pacs retrieval".into())
            .spawn(move || {
                let outcome = session(&login).and_then(|session| {
                    session
                        .retrieve_to_cache(&cache, &uid, &mut |progress, stored| {
                            let _ = tx.send(RetrievalEvent::Stored {
                                path: stored.path.clone(),
                                received: progress.received,
                                expected: progress.expected,
                                series: progress.series,
                            });
                            wake();
                        })
                        .map_err(|e| e.to_string())
                });
                let instances = outcome.map(|dir| instance_files(&dir));
                let _ = tx.send(RetrievalEvent::Done(instances));
                wake();
            })
            .expect("spawning the retrieval thread");
        self.retrieval = Some(Retrieval {
            study_uid: study_uid.clone(),
            label,
            beside,
            received: 0,
            expected: None,
            in_series: 0,
            series: None,
            outcome: None,
            events: rx,
            sent: HashSet::new(),
        });
        // The patient's other studies, listed once known (the patient is
        // looked up first when the row does not name one).
        if !beside {
            self.priors.clear();
            let patient_id = field(row, "PatientID");
            let login = self.login();
            let study = study_uid.clone();
            self.priors_search = Some((
                study_uid,
                Promise::spawn_thread("pacs priors", move || {
                    let session = session(&login)?;
                    let find = |keys: QueryKeys| session.find(&keys).map_err(|e| e.to_string());
                    let patient_id = match patient_id {
                        Some(id) => id,
                        None => find(QueryKeys {
                            study_uid: Some(study),
                            ..Default::default()
                        })?
                        .first()
                        .and_then(|row| field(row, "PatientID"))
                        .ok_or("the study names no patient")?,
                    };
                    find(QueryKeys {
                        patient_id: Some(patient_id),
                        ..Default::default()
                    })
                }),
            ));
        }
    }

    /// Starts retrieving the study `study_uid` (as `hilum view --pacs`
    /// asks), with its priors listed once found.
    pub fn open_study(&mut self, study_uid: &str, wake: impl Fn() + Send + Sync + 'static) {
        let mut row = Row::new();
        row.insert("StudyInstanceUID".into(), study_uid.into());
        self.open(&row, false, wake);
    }

    /// Collects what the background work finished; returns the files that
    /// arrived since the last poll, for the viewer to load.
    pub fn poll(&mut self) -> Arrived {
        if let Some(search) = self.search.take() {
            match search.try_take() {
                Ok(Ok(rows)) => {
                    self.status = Some(format!(
                        "{} stud{} found",
                        rows.len(),
                        if rows.len() == 1 { "y" } else { "ies" }
                    ));
                    self.results = rows;
                    self.sort_results();
                }
                Ok(Err(why)) => self.status = Some(why),
                Err(pending) => self.search = Some(pending),
            }
        }
        if let Some(book) = self.book.take() {
            match book.try_take() {
                Ok(Ok(book)) => self.saved = book.nodes.into_iter().collect(),
                Ok(Err(why)) => self.status = Some(why),
                Err(pending) => self.book = Some(pending),
            }
        }
        if let Some(clearing) = self.clearing.take() {
            match clearing.try_take() {
                Ok(Ok(n)) => {
                    self.status = Some(format!(
                        "Removed {n} cached stud{}",
                        if n == 1 { "y" } else { "ies" }
                    ))
                }
                Ok(Err(why)) => self.status = Some(why),
                Err(pending) => self.clearing = Some(pending),
            }
        }
        if let Some(sending) = self.sending.take() {
            match sending.try_take() {
                Ok(Ok(done)) | Ok(Err(done)) => self.status = Some(done),
                Err(pending) => self.sending = Some(pending),
            }
        }
        if let Some(echo) = self.echo.take() {
            match echo.try_take() {
                Ok(Ok(elapsed)) => {
                    self.status = Some(format!(
                        "The node answered in {:.0} ms",
                        elapsed.as_secs_f64() * 1000.0
                    ))
                }
                Ok(Err(why)) => self.status = Some(why),
                Err(pending) => self.echo = Some(pending),
            }
        }
        if let Some((current, search)) = self.priors_search.take() {
            match search.try_take() {
                Ok(Ok(rows)) => {
                    self.priors = rows
                        .into_iter()
                        .filter(|row| {
                            field(row, "StudyInstanceUID").as_deref() != Some(current.as_str())
                        })
                        .collect();
                    sort_rows(&mut self.priors, "StudyDate", false);
                }
                Ok(Err(_)) => self.priors.clear(),
                Err(pending) => self.priors_search = Some((current, pending)),
            }
        }
        let mut arrived = Arrived::default();
        if let Some(retrieval) = &mut self.retrieval {
            arrived.beside = retrieval.beside;
            arrived.study_uid = retrieval.study_uid.clone();
            arrived.first = retrieval.sent.is_empty();
            for event in retrieval.events.try_iter() {
                match event {
                    RetrievalEvent::Stored {
                        path,
                        received,
                        expected,
                        series,
                    } => {
                        retrieval.received += 1;
                        retrieval.in_series = received;
                        retrieval.expected = expected;
                        retrieval.series = series;
                        if retrieval.sent.insert(path.clone()) {
                            arrived.paths.push(path);
                        }
                    }
                    RetrievalEvent::Done(Ok(instances)) => {
                        // Instances cached before (a study cached whole, or
                        // a resumed retrieval) arrive here.
                        for path in instances {
                            if retrieval.sent.insert(path.clone()) {
                                arrived.paths.push(path);
                            }
                        }
                        retrieval.outcome = Some(Ok(()));
                        self.status = Some(format!("Retrieved {}", retrieval.label));
                    }
                    RetrievalEvent::Done(Err(why)) => {
                        retrieval.outcome = Some(Err(why.clone()));
                        self.status = Some(format!(
                            "{why} — the study stays in the cache marked incomplete; opening it again resumes it"
                        ));
                    }
                }
            }
        }
        arrived
    }

    /// Sorts the matches by `self.sort`.
    pub fn sort_results(&mut self) {
        let (key, ascending) = self.sort.clone();
        let key = if key.is_empty() {
            "StudyDate".to_string()
        } else {
            key
        };
        sort_rows(&mut self.results, &key, ascending);
    }
}

/// A session for `login`, on a background thread (it reads the node file
/// and the certificate roots).
fn session(login: &Login) -> Result<Session, String> {
    if login.node.is_empty() {
        return Err("choose a node: a saved name, a DICOMweb URL or dicom://AET@host:port".into());
    }
    login.session().map_err(|e| e.to_string())
}

/// The saved nodes' file (`file`, else the data folder's), read; a
/// missing file is an empty book.
fn read_book(file: Option<&std::path::Path>) -> Result<NodeBook, String> {
    let path = match file {
        Some(file) => file.to_path_buf(),
        None => NodeBook::default_path()
            .ok_or("no data folder for the saved nodes (set HILUM_DATA_DIR)")?,
    };
    NodeBook::load(&path).map_err(|e| e.to_string())
}
