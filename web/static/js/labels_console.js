// Labels of the console's car list and car card, in Chinese and English (the same keys in
// both); the states and ownerships reuse the catalogue's state.* and own.* labels.

import { addLabels } from "./i18n.js";

addLabels({
  zh: {
    "cars.title": "车辆",
    "cars.search": "搜索车牌、驾驶员或单位",
    "cars.own.all": "全部归属",
    "cars.state.all": "全部状态",
    "cars.agency.all": "全部单位",
    "cars.shown": "显示 {n} / {total} 辆",
    "cars.empty": "没有符合条件的车辆",
    "cars.driver": "驾驶员 {name}",
    "cars.noFix": "{plate} 尚无定位，无法在地图上显示",
    "cars.unavailable": "车辆列表暂不可用：{detail}",
    "cars.energy.petrol": "汽油", "cars.energy.diesel": "柴油", "cars.energy.hev": "油电混合",
    "cars.energy.phev": "插电混动", "cars.energy.bev": "纯电动",
  },
  en: {
    "cars.title": "Cars",
    "cars.search": "Search plate, driver or agency",
    "cars.own.all": "Pool and leased",
    "cars.state.all": "All states",
    "cars.agency.all": "All agencies",
    "cars.shown": "{n} of {total} cars",
    "cars.empty": "No car matches",
    "cars.driver": "driver {name}",
    "cars.noFix": "{plate} has not reported a position yet: it cannot be shown on the map",
    "cars.unavailable": "The car list is unavailable: {detail}",
    "cars.energy.petrol": "petrol", "cars.energy.diesel": "diesel", "cars.energy.hev": "hybrid",
    "cars.energy.phev": "plug-in hybrid", "cars.energy.bev": "battery-electric",
  },
});
