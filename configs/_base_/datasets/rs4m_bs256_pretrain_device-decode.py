# OpticalRS-4M as in rs4m_bs256_pretrain.py, with the JPEGs decoded on the
# model's device: workers read the bytes and draw crop box and flip only;
# RSSelfSupDataPreprocessor decodes the batch (torchvision.io.decode_jpeg on
# the list: nvjpeg on a GPU), crops, resizes (antialiased bicubic, PIL's
# filter) and flips. Same crops and flips as the worker pipeline for the same
# random state; files that are not JPEG (or may hold a constant image) are
# decoded by the workers as before. See docs/datasets.md, "Device decode".
_base_ = ['./rs4m_bs256_pretrain.py']

train_dataloader = dict(
    dataset=dict(pipeline={{_base_.train_pipeline_device_decode}}))
