//! The GPU display path (wgpu renderer only): a viewport's frame is kept on
//! the GPU as its stored values (an 8- or 16-bit unsigned integer texture,
//! uploaded once per frame), and the Modality LUT, VOI and inversion reach
//! the shader as one 65,536-entry table of displayed values per stored
//! value, built by `imaging::render::GrayLut`, the CPU reference. A window
//! change uploads that table (64 KiB), never the pixels, and the shader's
//! output equals `render_frame` to the bit (DESIGN invariant 48).
//!
//! Frames the path cannot take (colour, palette, 32-bit samples, stored
//! ranges wider than 16 bits, larger than the device's textures) and the
//! glow renderer stay on the CPU path, and the status bar says which path
//! draws.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use eframe::egui_wgpu::{self, wgpu};

use crate::app::viewport::is_gray;
use crate::imaging::pixels::Samples;
use crate::imaging::render::{GrayLut, resolve_voi};
use crate::imaging::{Image, WindowChoice};

/// Entries in the displayed-value table: every 16-bit stored value.
const TABLE_LEN: usize = 1 << 16;

/// What the GPU path could do on this device, kept in the egui context.
#[derive(Debug, Clone, PartialEq)]
pub enum GpuSupport {
    /// Installed: frames up to `max_side` pixels wide and high go to the GPU.
    Ready {
        /// The device's largest texture side.
        max_side: u32,
        /// The adapter, for the status bar and the benchmarks.
        adapter: String,
    },
    /// Not installed, and why (the glow renderer, a missing format).
    Unavailable(String),
}

fn support_id() -> egui::Id {
    egui::Id::unique("hilum gpu display")
}

/// The GPU path's support as installed in `ctx` (unavailable until
/// [`install`] ran).
pub fn support(ctx: &egui::Context) -> GpuSupport {
    ctx.data(|d| d.get_temp::<GpuSupport>(support_id()))
        .unwrap_or_else(|| {
            GpuSupport::Unavailable(
                "the glow renderer draws the window (--renderer wgpu for the GPU path)".into(),
            )
        })
}

/// Counts of what the GPU path uploaded, for the tests and benchmarks.
#[derive(Debug, Default)]
pub struct GpuStats {
    /// Frames (stored values) uploaded.
    pub frame_uploads: AtomicU64,
    /// Displayed-value tables uploaded (window, inversion changes).
    pub table_uploads: AtomicU64,
}

/// The device objects of the path, in egui_wgpu's callback resources.
struct GpuResources {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    srgb_target: bool,
    viewports: HashMap<usize, ViewportTextures>,
}

/// One viewport's textures on the GPU.
struct ViewportTextures {
    frame: FrameKey,
    table: u64,
    _image: Arc<Image>,
    _stored: wgpu::Texture,
    table_texture: wgpu::Texture,
    uniform: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
}

/// Which frame a texture holds: the image (by identity) and the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FrameKey {
    image: usize,
    frame: usize,
}

/// Installs the path on a wgpu renderer: compiles the shader for its
/// target format and records in `ctx` that viewports may use it.
pub fn install(ctx: &egui::Context, render_state: &egui_wgpu::RenderState) {
    let device = &render_state.device;
    let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("hilum display"),
        source: wgpu::ShaderSource::Wgsl(include_str!("display.wgsl").into()),
    });
    let texture_entry = |binding, sample_type| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::FRAGMENT,
        ty: wgpu::BindingType::Texture {
            sample_type,
            view_dimension: wgpu::TextureViewDimension::D2,
            multisampled: false,
        },
        count: None,
    };
    let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("hilum display"),
        entries: &[
            wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: wgpu::ShaderStages::VERTEX_FRAGMENT,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            },
            texture_entry(1, wgpu::TextureSampleType::Uint),
            texture_entry(2, wgpu::TextureSampleType::Float { filterable: false }),
        ],
    });
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some("hilum display"),
        bind_group_layouts: &[Some(&layout)],
        immediate_size: 0,
    });
    let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some("hilum display"),
        layout: Some(&pipeline_layout),
        vertex: wgpu::VertexState {
            module: &shader,
            entry_point: Some("vs_main"),
            compilation_options: Default::default(),
            buffers: &[],
        },
        fragment: Some(wgpu::FragmentState {
            module: &shader,
            entry_point: Some("fs_main"),
            compilation_options: Default::default(),
            targets: &[Some(wgpu::ColorTargetState {
                format: render_state.target_format,
                blend: None,
                write_mask: wgpu::ColorWrites::ALL,
            })],
        }),
        primitive: wgpu::PrimitiveState::default(),
        depth_stencil: None,
        multisample: wgpu::MultisampleState::default(),
        multiview_mask: None,
        cache: None,
    });
    render_state
        .renderer
        .write()
        .callback_resources
        .insert(GpuResources {
            pipeline,
            layout,
            srgb_target: render_state.target_format.is_srgb(),
            viewports: HashMap::new(),
        });
    let support = GpuSupport::Ready {
        max_side: device.limits().max_texture_dimension_2d,
        adapter: render_state.adapter.get_info().name,
    };
    ctx.data_mut(|d| d.insert_temp(support_id(), support));
}

/// The displayed-value table of a frame for a window and the reader's
/// inversion, with what it was built for.
#[derive(Clone)]
pub struct DisplayTable {
    key: (usize, usize, WindowChoice, bool),
    /// Increases with every new table, so the GPU copy knows it is stale.
    generation: u64,
    offset: i64,
    entries: Arc<Vec<u8>>,
}

/// Whether frame `frame` of `image` can go to the GPU on a device whose
/// textures are at most `max_side` pixels: gray, 8 or 16 bits stored.
pub fn eligible(image: &Image, frame: usize, max_side: u32) -> bool {
    let Ok(f) = image.frame(frame) else {
        return false;
    };
    is_gray(image, frame)
        && f.columns <= max_side
        && f.rows <= max_side
        && StoredLayout::of(&f.samples).is_some()
}

/// How a frame's stored values sit in the texture: its format, bytes per
/// sample, and the two's complement width the shader sign-extends (0 for
/// unsigned samples).
#[derive(Debug, Clone, Copy)]
struct StoredLayout {
    format: wgpu::TextureFormat,
    bytes_per_sample: u32,
    sign_bits: u32,
}

impl StoredLayout {
    /// The layout of `samples`, `None` for 32-bit samples.
    fn of(samples: &Samples) -> Option<Self> {
        let (format, bytes_per_sample, sign_bits) = match samples {
            Samples::U8(_) => (wgpu::TextureFormat::R8Uint, 1, 0),
            Samples::I8(_) => (wgpu::TextureFormat::R8Uint, 1, 8),
            Samples::U16(_) => (wgpu::TextureFormat::R16Uint, 2, 0),
            Samples::I16(_) => (wgpu::TextureFormat::R16Uint, 2, 16),
            Samples::U32(_) | Samples::I32(_) => return None,
        };
        Some(Self {
            format,
            bytes_per_sample,
            sign_bits,
        })
    }
}

/// The bytes of 8- or 16-bit samples as the texture takes them (the
/// samples' own bit patterns, little endian); empty for 32-bit samples.
fn stored_bytes(samples: &Samples) -> Vec<u8> {
    match samples {
        Samples::U8(v) => v.clone(),
        Samples::I8(v) => bytemuck::cast_slice(v).to_vec(),
        Samples::U16(v) => bytemuck::cast_slice(v).to_vec(),
        Samples::I16(v) => bytemuck::cast_slice(v).to_vec(),
        Samples::U32(_) | Samples::I32(_) => Vec::new(),
    }
}

/// A viewport's state on the GPU path, kept by the viewer between frames.
#[derive(Default)]
pub struct GpuView {
    table: Option<DisplayTable>,
    generation: u64,
}

impl GpuView {
    /// The table for `image`'s `frame` with `window` and `invert`, built
    /// only when one of them changed (tens of microseconds to a
    /// millisecond: one VOI evaluation per stored value).
    pub fn table(
        &mut self,
        image_index: usize,
        image: &Image,
        frame: usize,
        window: &WindowChoice,
        invert: bool,
    ) -> crate::ImagingResult<DisplayTable> {
        let key = (image_index, frame, window.clone(), invert);
        if let Some(t) = &self.table
            && t.key == key
        {
            return Ok(t.clone());
        }
        let voi = resolve_voi(image, frame, window)?;
        let lut = GrayLut::new(image, frame, &voi).ok_or_else(|| {
            crate::ImagingError::new(
                &image.path,
                crate::error::ImagingErrorKind::InvalidWindow(
                    "stored range wider than 16 bits".into(),
                ),
            )
        })?;
        let mut entries = vec![0u8; TABLE_LEN];
        for (k, e) in entries.iter_mut().enumerate() {
            let v = lut.lookup(lut.offset() + k as i64);
            *e = if invert { 255 - v } else { v };
        }
        self.generation += 1;
        let table = DisplayTable {
            key,
            generation: self.generation,
            offset: lut.offset(),
            entries: Arc::new(entries),
        };
        self.table = Some(table.clone());
        Ok(table)
    }
}

/// What a viewport hands the GPU path for one frame: its table and the
/// counters; [`GpuSource::frame`] adds the image and where it is drawn.
pub struct GpuSource {
    /// The viewport (one set of textures each).
    pub viewport: usize,
    /// The displayed-value table.
    pub table: DisplayTable,
    /// Upload counters.
    pub stats: Arc<GpuStats>,
}

impl GpuSource {
    /// The paint callback's data for `frame` of `image` with its corners
    /// on screen (points).
    pub fn frame(&self, image: Arc<Image>, frame: usize, corners: [egui::Pos2; 4]) -> GpuFrame {
        GpuFrame {
            viewport: self.viewport,
            image,
            frame,
            table: self.table.clone(),
            corners,
            stats: Arc::clone(&self.stats),
        }
    }
}

/// One viewport's frame drawn by the GPU path: the paint callback.
pub struct GpuFrame {
    /// The viewport (one set of textures each).
    pub viewport: usize,
    /// The image shown.
    pub image: Arc<Image>,
    /// Its frame.
    pub frame: usize,
    /// The displayed-value table.
    pub table: DisplayTable,
    /// The image's corners on screen, in points: (0,0), (w,0), (w,h), (0,h).
    pub corners: [egui::Pos2; 4],
    /// Upload counters.
    pub stats: Arc<GpuStats>,
}

impl GpuFrame {
    /// The paint callback drawing this frame, clipped to `rect`.
    pub fn callback(self, rect: egui::Rect) -> egui::PaintCallback {
        egui_wgpu::Callback::new_paint_callback(rect, self)
    }
}

/// The uniform block of `display.wgsl` (`Params`), 96 bytes.
fn params_bytes(
    corners: [[f32; 4]; 4],
    size: [u32; 2],
    offset: i32,
    sign_bits: u32,
    srgb: bool,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(96);
    for c in corners {
        for v in c {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    for v in size {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(&(TABLE_LEN as u32).to_le_bytes());
    out.extend_from_slice(&sign_bits.to_le_bytes());
    out.extend_from_slice(&u32::from(srgb).to_le_bytes());
    out.extend_from_slice(&[0u8; 8]);
    out
}

impl egui_wgpu::CallbackTrait for GpuFrame {
    fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        screen: &egui_wgpu::ScreenDescriptor,
        _encoder: &mut wgpu::CommandEncoder,
        resources: &mut egui_wgpu::CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        let Some(res) = resources.get_mut::<GpuResources>() else {
            return Vec::new();
        };
        let Ok(f) = self.image.frame(self.frame) else {
            return Vec::new();
        };
        let Some(layout) = StoredLayout::of(&f.samples) else {
            return Vec::new();
        };
        let (width, height) = (f.columns, f.rows);
        let key = FrameKey {
            image: Arc::as_ptr(&self.image) as usize,
            frame: self.frame,
        };
        let held = res
            .viewports
            .get(&self.viewport)
            .is_some_and(|v| v.frame == key);
        if !held {
            let size = wgpu::Extent3d {
                width,
                height,
                depth_or_array_layers: 1,
            };
            let texture = |label, format, size| {
                device.create_texture(&wgpu::TextureDescriptor {
                    label: Some(label),
                    size,
                    mip_level_count: 1,
                    sample_count: 1,
                    dimension: wgpu::TextureDimension::D2,
                    format,
                    usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
                    view_formats: &[],
                })
            };
            let stored = texture("hilum stored values", layout.format, size);
            queue.write_texture(
                stored.as_image_copy(),
                &stored_bytes(&f.samples),
                wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(width * layout.bytes_per_sample),
                    rows_per_image: Some(height),
                },
                size,
            );
            self.stats.frame_uploads.fetch_add(1, Ordering::Relaxed);
            let table_texture = texture(
                "hilum display table",
                wgpu::TextureFormat::R8Unorm,
                wgpu::Extent3d {
                    width: 256,
                    height: 256,
                    depth_or_array_layers: 1,
                },
            );
            let uniform = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("hilum display params"),
                size: 96,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            let view = |t: &wgpu::Texture| t.create_view(&wgpu::TextureViewDescriptor::default());
            let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("hilum display"),
                layout: &res.layout,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: uniform.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: wgpu::BindingResource::TextureView(&view(&stored)),
                    },
                    wgpu::BindGroupEntry {
                        binding: 2,
                        resource: wgpu::BindingResource::TextureView(&view(&table_texture)),
                    },
                ],
            });
            res.viewports.insert(
                self.viewport,
                ViewportTextures {
                    frame: key,
                    table: 0,
                    _image: Arc::clone(&self.image),
                    _stored: stored,
                    table_texture,
                    uniform,
                    bind_group,
                },
            );
        }
        let srgb = res.srgb_target;
        let Some(v) = res.viewports.get_mut(&self.viewport) else {
            return Vec::new();
        };
        if v.table != self.table.generation {
            queue.write_texture(
                v.table_texture.as_image_copy(),
                &self.table.entries,
                wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(256),
                    rows_per_image: Some(256),
                },
                wgpu::Extent3d {
                    width: 256,
                    height: 256,
                    depth_or_array_layers: 1,
                },
            );
            v.table = self.table.generation;
            self.stats.table_uploads.fetch_add(1, Ordering::Relaxed);
        }
        // Corners in clip space of the whole screen (the paint sets the
        // viewport to the screen), with their texture coordinates.
        let [sw, sh] = screen.size_in_pixels.map(|s| s.max(1) as f32);
        let ppp = screen.pixels_per_point;
        let uv = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]];
        let corners = std::array::from_fn(|i| {
            let p = self.corners[i];
            [
                p.x * ppp / sw * 2.0 - 1.0,
                1.0 - p.y * ppp / sh * 2.0,
                uv[i][0],
                uv[i][1],
            ]
        });
        let offset = self.table.offset as i32;
        queue.write_buffer(
            &v.uniform,
            0,
            &params_bytes(corners, [width, height], offset, layout.sign_bits, srgb),
        );
        Vec::new()
    }

    fn paint(
        &self,
        info: egui::PaintCallbackInfo,
        render_pass: &mut wgpu::RenderPass<'static>,
        resources: &egui_wgpu::CallbackResources,
    ) {
        let Some(res) = resources.get::<GpuResources>() else {
            return;
        };
        let Some(v) = res.viewports.get(&self.viewport) else {
            return;
        };
        let [w, h] = info.screen_size_px;
        render_pass.set_viewport(0.0, 0.0, w as f32, h as f32, 0.0, 1.0);
        render_pass.set_pipeline(&res.pipeline);
        render_pass.set_bind_group(0, &v.bind_group, &[]);
        render_pass.draw(0..6, 0..1);
    }
}
