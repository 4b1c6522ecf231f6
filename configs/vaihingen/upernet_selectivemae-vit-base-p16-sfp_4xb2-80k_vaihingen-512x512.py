# UperNet on ISPRS Vaihingen, 512 x 512 crops, mmseg's 6-class protocol
# (clutter is a class, label 0 = boundary ignored): the Potsdam recipe on
# mmseg's Vaihingen data set (ISPRSDataset, its converter clips the tiles
# into 512 x 512 patches with stride 256):
#   python $(python -c "import mmseg,os;print(os.path.dirname(mmseg.__file__))")/.mim/tools/dataset_converters/vaihingen.py /path/to/vaihingen_zips -o data/vaihingen
# The 5-class RS-paper protocol (clutter ignored; CMID's 79.44 / 80.01
# mIoU) is the `vaihingen5` config beside this one.
_base_ = [
    '../potsdam/upernet_selectivemae-vit-base-p16-sfp_4xb2-80k_potsdam-512x512.py'  # noqa: E501
]

dataset_type = 'ISPRSDataset'
data_root = 'data/vaihingen'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
