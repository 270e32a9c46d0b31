//! The side panels (browser, AI, tags) and the viewport grid.

use std::sync::Arc;

use poll_promise::Promise;

use super::Viewer;
use crate::app::gpu::{self, DisplayTable, GpuSource, GpuSupport};
use crate::app::viewport::{self, DisplayKey, ForeignInput, FramePicture, ViewportInput};
use crate::app::{ai_panel, browser, foreign_panel, tags};
use crate::imaging::Image;

impl Viewer {
    /// The series browser, the AI panel and the tag browser.
    pub(super) fn side_panels(&mut self, ui: &mut egui::Ui, ctx: &egui::Context) {
        let ctx = ctx.clone();
        egui::Panel::left("browser")
            .default_size(240.0)
            .show(ui, |ui| {
                let shown: Vec<Option<String>> =
                    self.viewports.iter().map(|v| v.series.clone()).collect();
                let out = browser::show(
                    ui,
                    &self.library,
                    &mut self.thumbnails,
                    &shown,
                    &self.settings.recent,
                );
                if let Some(key) = out.series {
                    let vp = &mut self.viewports[self.active];
                    vp.series = Some(key);
                    vp.position = 0;
                    vp.cine = false;
                }
                if let Some(path) = out.reopen {
                    self.open(&ctx, vec![path]);
                }
            });
        self.worklist_panel(ui, &ctx);
        self.ai_panel(ui);
        if self.settings.tag_browser {
            egui::Panel::bottom("tags")
                .resizable(true)
                .default_size(220.0)
                .show(ui, |ui| {
                    let image = self.active_image().cloned();
                    if let Some(image) = &image
                        && self.tags.as_ref().is_none_or(|(p, _)| *p != image.path)
                    {
                        let (path, image, ctx) =
                            (image.path.clone(), Arc::clone(image), ctx.clone());
                        let promise = Promise::spawn_thread("tags", move || {
                            let tags = tags::read_tags(&image);
                            ctx.request_repaint();
                            tags
                        });
                        self.tags = Some((path, promise));
                    }
                    let state = match (&image, &self.tags) {
                        (None, _) | (_, None) => tags::TagsState::NoImage,
                        (Some(_), Some((_, promise))) => match promise.ready() {
                            Some(tags) => tags::TagsState::Ready(tags),
                            None => tags::TagsState::Reading,
                        },
                    };
                    tags::show(ui, state, &mut self.tag_search);
                });
        }
    }

    pub(super) fn ai_panel(&mut self, ui: &mut egui::Ui) {
        let image = self.active_image().cloned();
        let model = self.ai.model().cloned();
        let frame = self.shown(self.active).map_or(0, |(_, f)| f);
        let heatmap = match (&image, self.ai.classifier()) {
            (Some(image), Some(classifier)) if self.heatmaps.visible => {
                Some(self.heatmaps.get(classifier, image, frame))
            }
            _ => None,
        };
        // Hidden, the panel still asks for the overlay's heatmap above.
        if !self.settings.ai_panel {
            return;
        }
        egui::Panel::right("ai").default_size(300.0).show(ui, |ui| {
            let view = image.as_ref().map(|i| self.ai.view(i));
            let status = self.ai.status();
            let scope = match (&image, &model) {
                (Some(image), Some(model)) => Some(crate::ai::classify::scope_check(model, image)),
                _ => None,
            };
            let out = ai_panel::show(
                ui,
                model.as_ref(),
                &status,
                view.as_ref().map(|view| ai_panel::ShownImage {
                    view,
                    scope: scope.as_ref(),
                }),
                &mut self.settings,
                &mut self.heatmaps,
                heatmap.as_ref(),
            );
            if out.run
                && let Some(image) = &image
            {
                self.ai.request(image);
            }
            if out.show_card {
                self.show_card = true;
            }
            ui.separator();
            // Annotations and other systems' results can be long lists.
            let out = egui::ScrollArea::vertical()
                .id_salt("annotations and results")
                .show(ui, |ui| {
                    let shown = self.shown(self.active);
                    if let (Some(image), Some((index, frame))) = (&image, shown) {
                        crate::app::annotate::list_ui(ui, &mut self.annotator, image, index, frame);
                    }
                    let shown = match (&image, shown) {
                        (Some(image), Some((index, frame))) => Some(foreign_panel::Shown {
                            image: index,
                            frame,
                            size: (image.pixels.columns as usize, image.pixels.rows as usize),
                        }),
                        _ => None,
                    };
                    foreign_panel::show(ui, &mut self.foreign, shown)
                })
                .inner;
            self.apply_foreign(out);
        });
    }

    pub(super) fn viewports_ui(&mut self, ui: &mut egui::Ui) {
        let rect = ui.available_rect_before_wrap();
        if let Some(mpr) = &mut self.mpr {
            self.mpr_rect = Some(rect);
            let measuring = self.annotator.tool == crate::app::annotate::Tool::Length;
            self.hover = mpr.show(ui, rect, measuring).hover;
            return;
        }
        let (cols, rows) = self.settings.layout.grid();
        let size = egui::vec2(rect.width() / cols as f32, rect.height() / rows as f32);
        self.hover = None;
        let heatmap = self.current_heatmap();
        for v in 0..cols * rows {
            let cell = egui::Rect::from_min_size(
                rect.min + egui::vec2((v % cols) as f32 * size.x, (v / cols) as f32 * size.y),
                size,
            )
            .shrink(1.0);
            self.rects[v] = Some(cell);
            self.viewport_ui(ui, v, cell, heatmap.as_ref());
        }
    }

    /// The GPU path's display table for what viewport `v` shows, when the
    /// path is installed and the frame is one it takes; `None` sends the
    /// viewport down the CPU path.
    fn gpu_table(
        &mut self,
        ctx: &egui::Context,
        v: usize,
        image_index: usize,
        image: &Image,
        frame: usize,
    ) -> Option<DisplayTable> {
        let GpuSupport::Ready { max_side, .. } = gpu::support(ctx) else {
            return None;
        };
        if !gpu::eligible(image, frame, max_side) {
            return None;
        }
        let view = &self.viewports[v].view;
        self.gpu_views[v]
            .table(image_index, image, frame, &view.window, view.invert)
            .ok()
    }

    pub(super) fn viewport_ui(
        &mut self,
        ui: &mut egui::Ui,
        v: usize,
        rect: egui::Rect,
        heatmap: Option<&Arc<crate::ai::saliency::Heatmap>>,
    ) {
        let Some((image_index, frame)) = self.shown(v) else {
            ui.painter()
                .rect_filled(rect, 0.0, egui::Color32::from_gray(10));
            let response = ui.interact(
                rect,
                egui::Id::unique(("viewport", v)),
                egui::Sense::click(),
            );
            response.widget_info(|| {
                egui::WidgetInfo::labeled(
                    egui::Role::Canvas,
                    true,
                    format!("Viewport {} (empty)", v + 1),
                )
            });
            if response.clicked() {
                self.active = v;
            }
            ui.painter().text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                "Empty viewport",
                egui::FontId::proportional(14.0),
                egui::Color32::GRAY,
            );
            return;
        };
        let image = Arc::clone(&self.library.images[image_index].image);
        let scale = viewport::view_transform(&self.viewports[v].view, &image, rect).scale;
        let key = DisplayKey {
            image: image_index,
            frame,
            window: self.viewports[v].view.window.clone(),
            invert: self.viewports[v].view.invert,
            step: viewport::preview_step(
                self.viewports[v].adjusting,
                scale,
                ui.ctx().pixels_per_point(),
            ),
        };
        let gpu_table = self.gpu_table(ui.ctx(), v, image_index, &image, frame);
        self.gpu_shown[v] = gpu_table.is_some();
        let picture = match gpu_table {
            Some(table) => {
                // The GPU holds the frame: no CPU rendering is kept for it.
                self.displayed[v] = None;
                FramePicture::Gpu(GpuSource {
                    viewport: v,
                    table,
                    stats: Arc::clone(&self.gpu_stats),
                })
            }
            None => {
                let result = viewport::update_texture(
                    ui.ctx(),
                    &format!("viewport {v}"),
                    &mut self.displayed[v],
                    &image,
                    key,
                );
                self.render_errors[v] = result.err();
                match self.displayed[v].as_ref() {
                    Some(d) => FramePicture::Texture(d.texture.id()),
                    None => FramePicture::Missing,
                }
            }
        };
        let stack_len = self.stack(v).len();
        if matches!(picture, FramePicture::Missing) {
            let text = self.render_errors[v].clone().unwrap_or_default();
            ui.painter().text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                text,
                egui::FontId::proportional(14.0),
                egui::Color32::LIGHT_RED,
            );
            return;
        };
        let heatmap = heatmap
            .filter(|h| v == self.active && h.width == image.pixels.columns)
            .map(|h| (h.as_ref(), self.settings.overlay.style()));
        let window = viewport::is_gray(&image, frame)
            .then(|| {
                self.window_cache
                    .get(&image, frame, &self.viewports[v].view.window)
            })
            .flatten();
        let foreign = (!self.foreign.objects().is_empty()).then(|| ForeignInput {
            results: &self.foreign,
            on: self.foreign.on(
                image_index,
                frame,
                (image.pixels.columns as usize, image.pixels.rows as usize),
            ),
        });
        let input = ViewportInput {
            index: v,
            image: &image,
            frame,
            stack: (
                self.viewports[v].position.min(stack_len.saturating_sub(1)),
                stack_len,
            ),
            image_index,
            picture,
            heatmap,
            foreign,
            corner_text: self.settings.corner_text,
            active: v == self.active,
            window,
            reference_line: self.reference_line(v),
        };
        let out = viewport::show(
            ui,
            rect,
            &mut self.viewports[v],
            input,
            &mut self.layers[v],
            &mut self.annotator,
        );
        if out.activated {
            self.active = v;
        }
        if out.scroll_steps != 0 {
            self.viewports[v].step(out.scroll_steps, stack_len);
        }
        if out.hover.is_some() {
            self.hover = out.hover;
        }
    }
}
