# The tiny Potsdam config in the 5-class protocol (clutter ignored). The
# metainfo is the 5-class config's (a test checks they stay equal).
_base_ = './upernet_vit-tiny-p16_fake-potsdam-128.py'

num_classes = 5
metainfo = dict(
    classes=('impervious_surface', 'building', 'low_vegetation', 'tree',
             'car'),
    palette=[[255, 255, 255], [0, 0, 255], [0, 255, 255], [0, 255, 0],
             [255, 255, 0]])
model = dict(
    decode_head=dict(num_classes=num_classes),
    auxiliary_head=dict(num_classes=num_classes))
train_dataloader = dict(dataset=dict(metainfo=metainfo))
val_dataloader = dict(dataset=dict(metainfo=metainfo))
test_dataloader = val_dataloader
