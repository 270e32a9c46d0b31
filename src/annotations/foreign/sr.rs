//! Structured Reports (Basic, Enhanced, Comprehensive and Comprehensive 3D
//! SR): the content tree walked once, TID 1500-shaped or not, into
//! findings (CODE and TEXT items: concept name → value), measurements (NUM
//! items with value, unit and the measurement group they belong to) and
//! image coordinates (SCOORD items with the IMAGE they are selected from).
//!
//! The walk is tolerant: an item of an unknown value type is passed over
//! (its children are still read), an unusable SCOORD is skipped, and each
//! such thing is said in the header's notes.

use dicom_dictionary_std::tags;

use super::values::{
    Ds, code, code_string, first_item, float, floats, items, referenced_series, source_refs, text,
};
use super::{
    Code, ForeignErrorKind, ForeignHeader, GraphicType, Reference, Referrer, SourceRef,
    object_references,
};
use crate::annotations::Point;

type Kind = ForeignErrorKind;

/// Deeper content trees are not walked further (the loader's pre-scan
/// already bounds nesting; this keeps the walk itself bounded).
const MAX_DEPTH: usize = 64;

/// A TID 1501/1410-style measurement group (a CONTAINER "Measurement
/// Group"): what its items share.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SrGroup {
    /// Tracking Identifier (e.g. "Lesion 1").
    pub tracking_id: Option<String>,
    /// Tracking Unique Identifier.
    pub tracking_uid: Option<String>,
    /// The "Finding" (finding type) of the group.
    pub finding: Option<Code>,
    /// The "Finding Site" of the group.
    pub finding_site: Option<Code>,
    /// Other observation context of the group: (concept, value).
    pub context: Vec<(String, String)>,
}

impl SrGroup {
    /// A short name for lists: the tracking identifier, else the finding.
    pub fn title(&self) -> Option<String> {
        self.tracking_id
            .clone()
            .or_else(|| self.finding.as_ref().map(|f| f.meaning.clone()))
    }
}

/// A CODE or TEXT item: concept name → value.
#[derive(Debug, Clone, PartialEq)]
pub struct SrFinding {
    /// The concept name's meaning (e.g. "Finding", "Margin").
    pub name: String,
    /// The concept name.
    pub name_code: Option<Code>,
    /// The value: the code's meaning or the text.
    pub value: String,
    /// The value as a code (CODE items).
    pub value_code: Option<Code>,
    /// Index into [`StructuredReport::groups`] of its group.
    pub group: Option<usize>,
}

/// A NUM item.
#[derive(Debug, Clone, PartialEq)]
pub struct SrMeasurement {
    /// The concept name's meaning (e.g. "Area", "Long Axis").
    pub name: String,
    /// The concept name.
    pub name_code: Option<Code>,
    /// The value (Floating Point Value when given, else Numeric Value);
    /// `None` when the item has none (see `qualifier`).
    pub value: Option<f64>,
    /// Measurement Units (UCUM), e.g. `mm2`.
    pub units: Option<Code>,
    /// Numeric Value Qualifier (why a value is missing or special).
    pub qualifier: Option<Code>,
    /// Modifiers of the measurement (method, derivation...): (concept, value).
    pub modifiers: Vec<(String, String)>,
    /// Index into [`StructuredReport::groups`] of its group.
    pub group: Option<usize>,
}

impl SrMeasurement {
    /// The unit to print after the value (`mm2`; empty for the unitless `1`).
    pub fn unit_text(&self) -> &str {
        match &self.units {
            Some(u) if u.value == "1" => "",
            Some(u) => u.value.as_str(),
            None => "",
        }
    }
}

/// An SCOORD item: a graphic on an image.
#[derive(Debug, Clone, PartialEq)]
pub struct SrCoordinate {
    /// The concept name's meaning (e.g. "Image Region", "Center").
    pub name: String,
    /// Graphic Type.
    pub graphic_type: GraphicType,
    /// Graphic Data as (column, row) points, (0, 0) at the top-left corner
    /// of the top-left pixel.
    pub points: Vec<Point>,
    /// The IMAGE it is SELECTED FROM (SOP instance and frames).
    pub image: Option<SourceRef>,
    /// Index into [`StructuredReport::groups`] of its group.
    pub group: Option<usize>,
    /// Index into [`StructuredReport::measurements`] when it is a child
    /// of a NUM item (INFERRED FROM).
    pub measurement: Option<usize>,
}

/// A Structured Report.
#[derive(Debug, Clone, PartialEq)]
pub struct StructuredReport {
    /// What every foreign object says about itself.
    pub header: ForeignHeader,
    /// The document title (the root's concept name).
    pub title: Option<Code>,
    /// The root's Template Identifier (`1500` for a measurement report).
    pub template: Option<String>,
    /// Completion Flag (`PARTIAL`, `COMPLETE`).
    pub completion: Option<String>,
    /// Verification Flag (`UNVERIFIED`, `VERIFIED`).
    pub verification: Option<String>,
    /// Document-level context and modifiers (observer, procedure
    /// reported, language): (concept, value).
    pub context: Vec<(String, String)>,
    /// Measurement groups.
    pub groups: Vec<SrGroup>,
    /// CODE and TEXT items, in document order.
    pub findings: Vec<SrFinding>,
    /// NUM items, in document order.
    pub measurements: Vec<SrMeasurement>,
    /// SCOORD items, in document order.
    pub coordinates: Vec<SrCoordinate>,
    /// Current Requested Procedure and Pertinent Other Evidence: (series
    /// UID, instances).
    pub evidence: Vec<(Option<String>, Vec<SourceRef>)>,
}

impl StructuredReport {
    /// The coordinates of `group`, its measurements' included.
    pub fn group_coordinates(&self, group: usize) -> impl Iterator<Item = &SrCoordinate> {
        self.coordinates.iter().filter(move |c| {
            c.group == Some(group)
                || c.measurement
                    .and_then(|m| self.measurements.get(m))
                    .is_some_and(|m| m.group == Some(group))
        })
    }

    /// Every reference the report makes: per coordinate, then its evidence.
    pub fn references(&self) -> Vec<Reference> {
        let mut refs: Vec<Reference> = self
            .coordinates
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                c.image.as_ref().map(|image| Reference {
                    referrer: Referrer::Coordinate(i),
                    source: image.clone(),
                })
            })
            .collect();
        refs.extend(object_references(&self.evidence));
        refs
    }
}

fn is(name: &Option<Code>, value: &str, scheme: &str) -> bool {
    name.as_ref().is_some_and(|c| c.is(value, scheme))
}

/// Where an item sits in the tree.
#[derive(Clone, Copy)]
struct Place {
    depth: usize,
    group: Option<usize>,
    measurement: Option<usize>,
}

struct Walker {
    report: StructuredReport,
    skipped_types: Vec<String>,
    by_reference: usize,
    algorithm_name: Option<String>,
    algorithm_version: Option<String>,
    device_name: Option<String>,
}

impl Walker {
    fn walk(&mut self, children: &[Ds], place: Place) {
        if place.depth > MAX_DEPTH {
            self.report.header.notes.push(format!(
                "content nested deeper than {MAX_DEPTH} levels not read"
            ));
            return;
        }
        for item in children {
            self.item(item, place);
        }
    }

    fn item(&mut self, item: &Ds, place: Place) {
        let relationship = code_string(item, tags::RELATIONSHIP_TYPE).unwrap_or_default();
        let Some(value_type) = code_string(item, tags::VALUE_TYPE) else {
            if item.get(tags::REFERENCED_CONTENT_ITEM_IDENTIFIER).is_some() {
                self.by_reference += 1;
            }
            return;
        };
        let name = code(item, tags::CONCEPT_NAME_CODE_SEQUENCE);
        let name_text = name.as_ref().map(|c| c.meaning.clone()).unwrap_or_default();
        let children = items(item, tags::CONTENT_SEQUENCE);
        let deeper = Place {
            depth: place.depth + 1,
            ..place
        };
        let context = relationship == "HAS OBS CONTEXT"
            || (relationship == "HAS CONCEPT MOD" && place.depth == 0);
        match value_type.as_str() {
            "CONTAINER" => {
                let group = if is(&name, "125007", "DCM") {
                    self.report.groups.push(SrGroup::default());
                    Some(self.report.groups.len() - 1)
                } else {
                    place.group
                };
                self.walk(children, Place { group, ..deeper });
            }
            "NUM" => {
                let measured = first_item(item, tags::MEASURED_VALUE_SEQUENCE);
                let value = measured.and_then(|m| {
                    float(m, tags::FLOATING_POINT_VALUE).or_else(|| float(m, tags::NUMERIC_VALUE))
                });
                self.report.measurements.push(SrMeasurement {
                    name: name_text,
                    name_code: name,
                    value,
                    units: measured.and_then(|m| code(m, tags::MEASUREMENT_UNITS_CODE_SEQUENCE)),
                    qualifier: code(item, tags::NUMERIC_VALUE_QUALIFIER_CODE_SEQUENCE),
                    modifiers: Vec::new(),
                    group: place.group,
                });
                let measurement = Some(self.report.measurements.len() - 1);
                self.walk(
                    children,
                    Place {
                        measurement,
                        ..deeper
                    },
                );
            }
            "SCOORD" => self.scoord(item, name_text, place),
            "CODE" | "TEXT" | "UIDREF" | "PNAME" | "DATE" | "TIME" | "DATETIME" => {
                let value_code = code(item, tags::CONCEPT_CODE_SEQUENCE);
                let value = pair_value(item, &value_code);
                self.remember_algorithm(&name, &value);
                if context {
                    self.context(&name, name_text, value, place);
                } else if place.measurement.is_some() && relationship == "HAS CONCEPT MOD" {
                    if let Some(m) = place
                        .measurement
                        .and_then(|m| self.report.measurements.get_mut(m))
                    {
                        m.modifiers.push((name_text, value));
                    }
                } else if matches!(value_type.as_str(), "CODE" | "TEXT") {
                    if let Some(g) = place.group.and_then(|g| self.report.groups.get_mut(g)) {
                        if is(&name, "121071", "DCM") && g.finding.is_none() {
                            g.finding = value_code.clone();
                        }
                        if (is(&name, "363698007", "SCT") || is(&name, "G-C0E3", "SRT"))
                            && g.finding_site.is_none()
                        {
                            g.finding_site = value_code.clone();
                        }
                    }
                    self.report.findings.push(SrFinding {
                        name: name_text,
                        name_code: name,
                        value,
                        value_code,
                        group: place.group,
                    });
                }
                self.walk(children, deeper);
            }
            other => {
                if !self.skipped_types.iter().any(|t| t == other) {
                    self.skipped_types.push(other.to_string());
                }
                self.walk(children, deeper);
            }
        }
    }

    fn context(&mut self, name: &Option<Code>, name_text: String, value: String, place: Place) {
        match place.group.and_then(|g| self.report.groups.get_mut(g)) {
            Some(g) if is(name, "112039", "DCM") => g.tracking_id = Some(value),
            Some(g) if is(name, "112040", "DCM") => g.tracking_uid = Some(value),
            Some(g) => g.context.push((name_text, value)),
            None => self.report.context.push((name_text, value)),
        }
    }

    fn remember_algorithm(&mut self, name: &Option<Code>, value: &str) {
        if is(name, "111001", "DCM") {
            self.algorithm_name.get_or_insert_with(|| value.to_string());
        } else if is(name, "111003", "DCM") {
            self.algorithm_version
                .get_or_insert_with(|| value.to_string());
        } else if is(name, "121013", "DCM") {
            self.device_name.get_or_insert_with(|| value.to_string());
        }
    }

    fn scoord(&mut self, item: &Ds, name: String, place: Place) {
        let data = floats(item, tags::GRAPHIC_DATA);
        let graphic_type = GraphicType::parse(&text(item, tags::GRAPHIC_TYPE).unwrap_or_default());
        if data.is_empty() || !data.len().is_multiple_of(2) || data.iter().any(|v| !v.is_finite()) {
            self.report.header.notes.push(format!(
                "SCOORD \"{name}\" skipped: its Graphic Data is not a list of finite (column, row) \
                 pairs"
            ));
            return;
        }
        let points = data
            .chunks_exact(2)
            .map(|p| Point::new(p[0], p[1]))
            .collect();
        let image = items(item, tags::CONTENT_SEQUENCE)
            .iter()
            .filter(|c| code_string(c, tags::VALUE_TYPE).as_deref() == Some("IMAGE"))
            .find_map(|c| {
                source_refs(c, tags::REFERENCED_SOP_SEQUENCE)
                    .into_iter()
                    .next()
            });
        if image.is_none() {
            self.report.header.notes.push(format!(
                "SCOORD \"{name}\" names no image it is selected from"
            ));
        }
        self.report.coordinates.push(SrCoordinate {
            name,
            graphic_type,
            points,
            image,
            group: place.group,
            measurement: place.measurement,
        });
    }
}

/// The value of a CODE, TEXT, UIDREF, PNAME or date/time item as text.
fn pair_value(item: &Ds, value_code: &Option<Code>) -> String {
    if let Some(c) = value_code {
        return c.meaning.clone();
    }
    [
        tags::TEXT_VALUE,
        tags::UID,
        tags::PERSON_NAME,
        tags::DATE,
        tags::TIME,
        tags::DATE_TIME,
    ]
    .iter()
    .find_map(|t| text(item, *t))
    .unwrap_or_default()
}

/// Reads a Structured Report's data set.
pub(super) fn read(ds: &Ds, header: ForeignHeader) -> Result<StructuredReport, Kind> {
    let root_children = items(ds, tags::CONTENT_SEQUENCE);
    let value_type = code_string(ds, tags::VALUE_TYPE);
    if value_type.is_none() && root_children.is_empty() {
        return Err(Kind::MissingAttribute("ContentSequence"));
    }
    let mut evidence = Vec::new();
    for tag in [
        tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE,
        tags::PERTINENT_OTHER_EVIDENCE_SEQUENCE,
    ] {
        for study in items(ds, tag) {
            evidence.extend(referenced_series(study));
        }
    }
    let mut walker = Walker {
        report: StructuredReport {
            header,
            title: code(ds, tags::CONCEPT_NAME_CODE_SEQUENCE),
            template: first_item(ds, tags::CONTENT_TEMPLATE_SEQUENCE)
                .and_then(|t| text(t, tags::TEMPLATE_IDENTIFIER)),
            completion: code_string(ds, tags::COMPLETION_FLAG),
            verification: code_string(ds, tags::VERIFICATION_FLAG),
            context: Vec::new(),
            groups: Vec::new(),
            findings: Vec::new(),
            measurements: Vec::new(),
            coordinates: Vec::new(),
            evidence,
        },
        skipped_types: Vec::new(),
        by_reference: 0,
        algorithm_name: None,
        algorithm_version: None,
        device_name: None,
    };
    walker.walk(
        root_children,
        Place {
            depth: 0,
            group: None,
            measurement: None,
        },
    );
    let mut report = walker.report;
    if !walker.skipped_types.is_empty() {
        report.header.notes.push(format!(
            "content items of value type {} are not read",
            walker.skipped_types.join(", ")
        ));
    }
    if walker.by_reference > 0 {
        report.header.notes.push(format!(
            "{} by-reference relationship(s) not followed",
            walker.by_reference
        ));
    }
    report.header.algorithm = match (walker.algorithm_name, walker.algorithm_version) {
        (Some(name), Some(version)) => Some(format!("{name} {version}")),
        (Some(name), None) => Some(name),
        (None, _) => walker.device_name,
    };
    Ok(report)
}
